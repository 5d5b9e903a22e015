"""Bad input gets one clear line naming the source and the file; nothing else is lost."""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dlt
import duckdb
import pytest

from collectors import registry
from glasspane.config import ConfigError, load_config
from tests import dlt_fixtures as fx
from tests.conftest import collect_into, rows, source


def one_error(summary) -> str:
    [outcome] = [o for o in summary.outcomes if o.errors]
    [error] = outcome.errors
    assert "\n" not in error
    return error


def test_truncated_dlt_loads_file_is_named_and_the_other_loads_are_kept(tmp_path, store):
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    p = fx.pipeline("events", tmp_path / "pipelines", dlt.destinations.filesystem(bucket.as_uri()), "events")
    for start in (0, 10, 20):
        fx.run(p, fx.users(2, start=start), load_trace=False)
    loads = sorted((bucket / "events" / "_dlt_loads").iterdir())
    good = loads[1].read_text()
    loads[1].write_text(good[: len(good) // 2])  # a half-written file
    bucket_source = source("lake", "filesystem", bucket_url=bucket.as_uri())

    summary = collect_into(store, bucket_source)
    error = one_error(summary)
    assert error.startswith("source 'lake': ")
    assert loads[1].name in error and "not valid JSON" in error
    assert rows(store, "SELECT count(*) FROM runs") == [(2,)]  # the two good loads are in
    assert rows(store, "SELECT status FROM sources") == [("error",)]

    loads[1].write_text(good)  # the writer finished: the next collect reads it
    assert collect_into(store, bucket_source).ok
    assert rows(store, "SELECT count(*) FROM runs") == [(3,)]


def test_unreadable_trace_is_named_and_packages_still_count(tmp_path, store):
    pipelines = tmp_path / "pipelines"
    p = fx.pipeline("crm", pipelines, dlt.destinations.duckdb(str(tmp_path / "w.duckdb")), "crm")
    fx.run(p, fx.users(2), load_trace=False)
    (pipelines / "crm" / "trace.pickle").write_bytes(b"not a pickle")
    summary = collect_into(store, source("folder", "pipelines_dir", path=str(pipelines)))
    error = one_error(summary)
    assert error.startswith("source 'folder': ") and "trace.pickle" in error and "unreadable trace" in error
    assert rows(store, "SELECT status FROM runs") == [("completed",)]  # from the kept load package


def test_schema_file_that_is_not_json_is_named(tmp_path, store):
    pipelines = tmp_path / "pipelines"
    p = fx.pipeline("crm", pipelines, dlt.destinations.duckdb(str(tmp_path / "w.duckdb")), "crm")
    fx.run(p, fx.users(2), load_trace=False)
    schema_file = pipelines / "crm" / "schemas" / "crm.schema.json"
    schema_file.write_text('{"name": "crm", "tables": {')
    summary = collect_into(store, source("folder", "pipelines_dir", path=str(pipelines)))
    error = one_error(summary)
    assert "crm.schema.json" in error and "not valid JSON" in error
    assert rows(store, "SELECT count(*) FROM runs") == [(1,)]


def test_stored_schema_that_is_neither_json_nor_zlib_is_named(tmp_path, store):
    warehouse = tmp_path / "w.duckdb"
    p = fx.pipeline("crm", tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), "crm")
    fx.run(p, fx.users(2), load_trace=False)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "UPDATE crm._dlt_version SET schema = 'eJzz%%broken' "
            "WHERE version = (SELECT max(version) FROM crm._dlt_version)"
        )
    summary = collect_into(store, source("wh", "duckdb", path=str(warehouse)))
    error = one_error(summary)
    assert (
        error.startswith("source 'wh': ") and "crm._dlt_version" in error and "not valid JSON or zlib+base64" in error
    )
    assert rows(store, "SELECT count(*) FROM runs") == [(1,)]


def test_missing_folder_fails_that_source_only_and_keeps_its_earlier_data(tmp_path, store):
    pipelines = tmp_path / "pipelines"
    warehouse = tmp_path / "w.duckdb"
    p = fx.pipeline("crm", pipelines, dlt.destinations.duckdb(str(warehouse)), "crm")
    fx.run(p, fx.users(2))
    folder, wh = source("folder", "pipelines_dir", path=str(pipelines)), source("wh", "duckdb", path=str(warehouse))
    assert collect_into(store, folder, wh).ok
    before = rows(store, "SELECT * FROM runs")

    shutil.rmtree(pipelines)
    summary = collect_into(store, folder, wh)
    error = one_error(summary)
    assert error == f"source 'folder': {pipelines}: pipelines folder not found"
    assert [o.status for o in summary.outcomes] == ["error", "ok"]
    assert rows(store, "SELECT * FROM runs") == before
    assert rows(store, "SELECT source, status, error IS NOT NULL FROM sources ORDER BY 1") == [
        ("folder", "error", True),
        ("wh", "ok", False),
    ]


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "glasspane.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[sources]]\nname = "x"\nkind = "ftp"\n', "source 'x': unknown kind 'ftp' (known kinds: "),
        ('[[sources]]\nname = "x"\nkind = "duckdb"\n', "source 'x' (kind duckdb): missing required key 'path'"),
        ('[[sources]]\nkind = "duckdb"\npath = "a"\n', "[[sources]] #1: missing required key 'name'"),
        ('[[sources]]\nname = "x"\nkind = "duckdb"\npath = "a"\npth = "b"\n', "unknown key 'pth'"),
        (
            '[[sources]]\nname = "x"\nkind = "duckdb"\npath = "a"\n' * 2,
            "source names must be unique, repeated: x",
        ),
        ("[[sources]\nname=", "not valid TOML"),
    ],
)
def test_config_errors_are_one_line_naming_file_and_source(tmp_path, text, message):
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        registry.build_all(load_config(path))
    assert str(raised.value).startswith(str(path))
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("naming", "steps"),
    [
        ("direct", "_trace▶steps"),
        ("duck_case", "_trace__steps"),
        ("sql_ci_v1", "_trace__steps"),
        ("sql_cs_v1", "_trace__steps"),
        ("snake_case", "_trace__steps"),
    ],
)
def test_trace_tables_and_dlt_tables_are_found_under_every_naming_convention(
    tmp_path, store, monkeypatch, naming, steps
):
    monkeypatch.setenv("SCHEMA__NAMING", naming)
    warehouse = tmp_path / "w.duckdb"
    p = fx.pipeline("crm", tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), "crm")
    fx.run(p, fx.users(4))  # its trace loaded into the destination: row counts
    fx.run_failing(p, "upstream API answered 500", load_trace=True)  # a failure only the trace tables know
    monkeypatch.delenv("SCHEMA__NAMING")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert steps in tables
    assert collect_into(store, source("wh", "duckdb", path=str(warehouse))).ok
    [(error, step)] = rows(store, "SELECT error, failed_step FROM runs WHERE status = 'failed'")
    assert "upstream API answered 500" in error and step == "extract"
    counts = dict(rows(store, "SELECT lower(table_name), row_count FROM table_counts"))
    assert counts["users"] == 4
    assert rows(store, "SELECT count(*) > 0 FROM schema_versions") == [(True,)]


@pytest.mark.parametrize(
    ("table", "lost"), [("_dlt_version", "schema history"), ("_dlt_pipeline_state", "pipeline names of loads")]
)
def test_a_dataset_missing_a_dlt_table_is_reported_in_one_line_and_its_runs_still_collected(
    tmp_path, store, table, lost
):
    warehouse = tmp_path / "w.duckdb"
    p = fx.pipeline("crm", tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), "crm")
    fx.run(p, fx.users(2), load_trace=False)
    fx.run(p, fx.users(2, start=10), load_trace=False)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"DROP TABLE crm.{table}")
    summary = collect_into(store, source("wh", "duckdb", path=str(warehouse)))
    [outcome] = summary.outcomes
    assert outcome.errors == [
        f"source 'wh': duckdb://{warehouse} dataset 'crm': no {table} table: its {lost} "
        "cannot be read; its runs are still collected"
    ]
    assert rows(store, "SELECT count(*) FROM runs WHERE status = 'completed'") == [(2,)]


@pytest.fixture
def hung_endpoint() -> Iterator[tuple[int, list[socket.socket]]]:
    """An endpoint on loopback that accepts connections and never answers; yields its port and the connections."""
    server = socket.create_server(("127.0.0.1", 0))
    connections: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                connections.append(server.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1], connections
    server.close()
    for connection in connections:
        connection.close()


def _s3(port: int, monkeypatch, request) -> str:
    credentials = {
        "ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "REGION_NAME": "us-east-1",
    }
    for key, value in credentials.items():
        monkeypatch.setenv(f"SOURCES__HUNG__CREDENTIALS__{key}", value)
    return "s3://lake/teams"


def _gcs(port: int, monkeypatch, request) -> str:
    from tests.servers import TokenServer
    from tests.test_bigquery import COLLECTOR, service_account

    tokens = TokenServer()  # the key is exchanged for a token on loopback; the storage calls then hang
    request.addfinalizer(tokens.stop)
    monkeypatch.setenv("SOURCES__HUNG__CREDENTIALS", service_account(COLLECTOR, tokens.url))
    monkeypatch.setenv("SOURCES__HUNG__KWARGS", json.dumps({"endpoint_url": f"http://127.0.0.1:{port}"}))
    monkeypatch.setenv("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    return "gs://lake/teams"


def _azure(port: int, monkeypatch, request) -> str:
    key = base64.b64encode(b"not a real key").decode()
    connection = (
        f"DefaultEndpointsProtocol=http;AccountName=hung;AccountKey={key};BlobEndpoint=http://127.0.0.1:{port}/hung;"
    )
    monkeypatch.setenv("SOURCES__HUNG__KWARGS", json.dumps({"connection_string": connection}))
    monkeypatch.setenv("SOURCES__HUNG__CREDENTIALS__AZURE_STORAGE_ACCOUNT_NAME", "hung")
    monkeypatch.setenv("SOURCES__HUNG__CREDENTIALS__AZURE_STORAGE_ACCOUNT_KEY", key)
    return "az://lake/teams"


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (_s3, "cannot reach the storage endpoint (Read timeout on "),
        (_gcs, "cannot reach the storage endpoint (no answer within the source's timeout_s)"),
        (_azure, "cannot reach the storage endpoint (no answer within the source's timeout_s)"),
    ],
    ids=["s3", "gcs", "azure"],
)
def test_a_hung_bucket_endpoint_gives_up_within_its_timeout_and_the_other_sources_are_stored(
    tmp_path, store, hung_endpoint, monkeypatch, request, setup, reason
):
    port, connections = hung_endpoint
    url = setup(port, monkeypatch, request)
    bucket = tmp_path / "bucket"
    fx.run(fx.pipeline("crm", tmp_path / "pipelines", dlt.destinations.filesystem(bucket.as_uri()), "crm"), fx.users(2))
    started = time.monotonic()
    summary = collect_into(
        store,
        source("hung", "filesystem", bucket_url=url, timeout_s=3),
        source("local", "filesystem", bucket_url=bucket.as_uri()),
    )
    elapsed = time.monotonic() - started
    assert elapsed < 3 + 5  # its timeout, plus starting the client: never the minutes a client would wait
    errors = {o.source: o.errors for o in summary.outcomes}
    [hung] = errors["hung"]
    assert hung.startswith(f"source 'hung': {url}: {reason}")
    assert errors["local"] == [] and 0 < len(connections) <= 3  # a bounded number of tries
    assert rows(store, "SELECT count(*) FROM runs WHERE source = 'local'") == [(1,)]


def test_trace_tables_in_a_bucket_are_found_under_dlts_direct_naming(tmp_path, store, monkeypatch):
    monkeypatch.setenv("SCHEMA__NAMING", "direct")
    bucket = tmp_path / "bucket"
    p = fx.pipeline("crm", tmp_path / "pipelines", dlt.destinations.filesystem(bucket.as_uri()), "crm")
    fx.run(p, fx.users(4))
    fx.run_failing(p, "upstream API answered 500", load_trace=True)
    monkeypatch.delenv("SCHEMA__NAMING")
    assert (bucket / "crm" / "_trace▶steps").is_dir()
    assert collect_into(store, source("lake", "filesystem", bucket_url=bucket.as_uri())).ok
    [(error, step)] = rows(store, "SELECT error, failed_step FROM runs WHERE status = 'failed'")
    assert "upstream API answered 500" in error and step == "extract"
    assert rows(store, "SELECT row_count FROM table_counts WHERE table_name = 'users'") == [(4,)]


def test_a_bucket_dataset_missing_dlt_version_files_is_reported_and_its_runs_still_collected(tmp_path, store):
    bucket = tmp_path / "bucket"
    p = fx.pipeline("crm", tmp_path / "pipelines", dlt.destinations.filesystem(bucket.as_uri()), "crm")
    fx.run(p, fx.users(2), load_trace=False)
    shutil.rmtree(bucket / "crm" / "_dlt_version")
    [outcome] = collect_into(store, source("lake", "filesystem", bucket_url=bucket.as_uri())).outcomes
    assert outcome.errors == [
        f"source 'lake': {bucket.as_uri()}/crm: no _dlt_version files: its schema history "
        "cannot be read; its runs are still collected"
    ]
    assert rows(store, "SELECT count(*) FROM runs") == [(1,)]
