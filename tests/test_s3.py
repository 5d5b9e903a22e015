"""S3 buckets through a real S3 API (moto_server): datasets written by real dlt pipelines, every
HTTP request the collector makes counted by a recording proxy in front of the server."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
from collections.abc import Iterator

import dlt
import pytest

from glasspane.settings import PROJECT_DIR, environment
from tests import dlt_fixtures as fx
from tests.conftest import collect_into, rows, source
from tests.servers import MotoS3, RecordingProxy, free_port
from tests.store_scan import find_in_store

BUCKET = "lake"
CUSTOM_LAYOUT = "{schema_name}/{table_name}/{load_id}.{file_id}.{ext}"


@pytest.fixture(scope="module")
def s3() -> Iterator[MotoS3]:
    server = MotoS3()
    server.client().create_bucket(Bucket=BUCKET)
    yield server
    server.stop()


@pytest.fixture
def proxy(s3) -> Iterator[RecordingProxy]:
    recording = RecordingProxy(s3.endpoint)
    yield recording
    recording.stop()


def s3_destination(s3: MotoS3, prefix: str, **kwargs):
    return dlt.destinations.filesystem(f"s3://{BUCKET}/{prefix}", credentials=s3.credentials(), **kwargs)


@contextlib.contextmanager
def source_credentials(name: str, credentials: dict[str, str]) -> Iterator[None]:
    """dlt's config convention for a source's bucket credentials: SOURCES__<NAME>__CREDENTIALS__<KEY>."""
    values = {f"SOURCES__{name.upper()}__CREDENTIALS__{k.upper()}": v for k, v in credentials.items()}
    with environment(**values):
        yield


@pytest.fixture(scope="module")
def teams(s3, tmp_path_factory) -> str:
    """Three datasets under s3://lake/teams: traces loaded, parquet without traces, a custom layout."""
    pipelines = tmp_path_factory.mktemp("pipelines")
    events = fx.pipeline("events", pipelines, s3_destination(s3, "teams"), "events")
    fx.run(events, fx.users(3))
    fx.run(events, fx.users(2, start=10, extra_column=True))  # the schema evolves
    fx.run_failing(events, "upstream API answered 500", load_trace=True)
    orders = fx.pipeline("orders", pipelines, s3_destination(s3, "teams"), "orders")
    fx.run(orders, fx.users(4), load_trace=False, loader_file_format="parquet")  # no trace: footers count
    fx.run(orders, fx.users(5, start=10), load_trace=False, loader_file_format="parquet")
    custom = fx.pipeline("custom", pipelines, s3_destination(s3, "teams", layout=CUSTOM_LAYOUT), "custom")
    fx.run(custom, fx.users(6), loader_file_format="parquet")
    s3.client().put_object(Bucket=BUCKET, Key="teams/not_a_dataset/readme.txt", Body=b"hello")
    return f"s3://{BUCKET}/teams"


def lake(url: str, **options) -> object:
    return source("lake", "filesystem", bucket_url=url, layouts={"custom": CUSTOM_LAYOUT}, **options)


def test_s3_bucket_gives_every_dataset_with_row_counts_failures_and_pii(s3, proxy, teams, store):
    with source_credentials("lake", s3.credentials(proxy.endpoint)):
        summary = collect_into(store, lake(teams))
    assert summary.ok, summary.outcomes[0].errors
    assert summary.outcomes[0].datasets == 3
    assert rows(
        store,
        "SELECT dataset_name, pipeline_name, status, row_count FROM runs ORDER BY dataset_name, started_at",
    ) == [
        ("custom", "custom", "completed", 12),  # from the _trace tables found through the custom layout
        ("events", "events", "completed", 6),  # 3 users + 3 addresses, from the _trace tables
        ("events", "events", "completed", 4),
        ("events", "events", "failed", None),  # the failed run's trace was loaded
        ("orders", "orders", "completed", 8),  # no trace: from the parquet footers
        ("orders", "orders", "completed", 10),
    ]
    [error] = rows(store, "SELECT error FROM runs WHERE status = 'failed'")[0]
    assert error.startswith("RuntimeError: upstream API answered 500")
    assert rows(store, "SELECT DISTINCT location FROM runs") == [("s3://lake/teams",)]
    assert rows(
        store, "SELECT table_name, row_count FROM table_counts WHERE dataset_name = 'orders' ORDER BY 2, 1"
    ) == [("users", 4), ("users__addresses", 4), ("users", 5), ("users__addresses", 5)]
    assert rows(
        store, "SELECT dataset_name, table_name, column_name, pii_kind FROM columns WHERE pii ORDER BY 1, 2, 3"
    ) == [
        (dataset, table, column, kind)
        for dataset in ("custom", "events", "orders")
        for table, column, kind in (
            ("users", "email", "email"),
            ("users", "phone", None),
            ("users__addresses", "street", "address"),
        )
    ]
    assert rows(store, "SELECT count(*) FROM columns WHERE column_name = 'nickname'") == [(1,)]  # evolved

    # footers are read with two small ranged reads each, never a data page; jsonl data files never
    gets = [r for r in proxy.requests if r.method == "GET" and "list-type" not in r.query]
    data_gets = [r for r in gets if "/users" in r.path]
    assert data_gets and all(r.path.endswith(".parquet") and "range" in r.headers for r in data_gets)
    assert all(int(r.headers["range"].split("=")[1].split("-")[0]) > 0 for r in data_gets)
    assert len(data_gets) == 2 * 4  # 2 reads x (users + users__addresses) x 2 loads of `orders`
    assert proxy.count("HEAD") == 0  # every file is read with one GET, without asking its size first


def test_s3_recollect_lists_only_new_keys_and_reads_only_new_files(s3, proxy, tmp_path, store):
    pipelines = tmp_path / "pipelines"
    crm = fx.pipeline("crm", pipelines, s3_destination(s3, "inc"), "crm")
    fx.run(crm, fx.users(3))
    fx.run(crm, fx.users(2, start=10))
    billing = fx.pipeline("billing", pipelines, s3_destination(s3, "inc"), "billing")
    fx.run(billing, fx.users(1), load_trace=False)
    bucket = lake(f"s3://{BUCKET}/inc")

    with source_credentials("lake", s3.credentials(proxy.endpoint)):
        first = collect_into(store, bucket)
        assert first.ok and first.new_runs == 3
        snapshot = rows(store, "SELECT * FROM runs ORDER BY run_key")
        counts = rows(store, "SELECT * FROM table_counts ORDER BY load_id, table_name")

        proxy.clear()
        again = collect_into(store, bucket)
        assert again.ok and again.new_runs == 0
        # discovery lists the prefix once (to find the dataset folders); then each dataset folder
        # costs one listing of its _dlt_loads/, however many loads it holds, and no file is read
        listed = [r.query["prefix"][0] for r in proxy.requests if "list-type" in r.query]
        assert listed[0] == "inc/" and sorted(listed[1:]) == ["inc/billing/_dlt_loads/", "inc/crm/_dlt_loads/"]
        assert proxy.count() == len(listed) == 1 + 2
        assert rows(store, "SELECT * FROM runs ORDER BY run_key") == snapshot
        assert rows(store, "SELECT * FROM table_counts ORDER BY load_id, table_name") == counts
        assert again.outcomes[0].stats["list_calls"] == proxy.count()  # the summary counts what the server saw

        fx.run(crm, fx.users(4, start=20))
        proxy.clear()
        third = collect_into(store, bucket)
    assert third.ok and third.new_runs == 1
    object_gets = [r.path.split("/crm/", 1)[-1] for r in proxy.requests if "list-type" not in r.query]
    # the _dlt_loads files of the new run and of its trace upload, then only files of those two loads
    new_loads = [p.split("__", 1)[1].removesuffix(".jsonl") for p in object_gets if p.startswith("_dlt_loads/")]
    assert len(new_loads) == 2
    assert all(any(load_id in path for load_id in new_loads) for path in object_gets)
    assert any(p.startswith("_trace/") for p in object_gets)  # the new trace is read
    assert third.outcomes[0].stats["get_calls"] == len(object_gets)
    assert rows(store, "SELECT count(*), sum(row_count) FROM runs WHERE dataset_name = 'crm'") == [(3, 18)]


def test_a_load_under_a_known_schema_lists_no_versions_and_a_dataset_without_traces_lists_no_trace_folder(
    s3, proxy, tmp_path, store
):
    """`_dlt_version/` is listed only for a load whose schema version was not read yet, and `_trace/` only
    in a dataset whose schema has a `_trace` table; a new version and a first trace upload are still found."""
    quiet = fx.pipeline("quiet", tmp_path / "pipelines", s3_destination(s3, "known"), "quiet")
    fx.run(quiet, fx.users(2), load_trace=False)
    bucket = lake(f"s3://{BUCKET}/known")

    def folders_listed() -> set[str]:  # the dataset's folders listed (known/quiet/<folder>/...)
        prefixes = [r.query["prefix"][0].split("/") for r in proxy.requests if "list-type" in r.query]
        return {parts[2] for parts in prefixes if len(parts) > 2 and parts[2]}

    with source_credentials("lake", s3.credentials(proxy.endpoint)):
        assert collect_into(store, bucket).new_runs == 1
        fx.run(quiet, fx.users(1, start=10), load_trace=False)  # the same schema version
        proxy.clear()
        assert collect_into(store, bucket).new_runs == 1
        assert "_dlt_version" not in folders_listed() and "_trace" not in folders_listed()
        assert {"_dlt_loads", "_dlt_pipeline_state"} <= folders_listed()

        fx.run(quiet, fx.users(1, start=20, extra_column=True), load_trace=False)  # the schema evolves
        proxy.clear()
        assert collect_into(store, bucket).new_runs == 1
        assert "_dlt_version" in folders_listed() and "_trace" not in folders_listed()
        assert rows(store, "SELECT count(*) FROM columns WHERE column_name = 'nickname'") == [(1,)]

        fx.run(quiet, fx.users(1, start=30))  # and the pipeline starts loading its trace
        proxy.clear()
        assert collect_into(store, bucket).new_runs == 1
        assert {"_dlt_version", "_trace"} <= folders_listed()
    newest = rows(store, "SELECT run_key FROM runs ORDER BY started_at DESC LIMIT 1")[0][0]
    assert rows(store, f"SELECT count(*) > 0 FROM raw.run_steps WHERE run_key = '{newest}'") == [(True,)]


def test_several_schemas_in_one_dataset_and_a_schema_added_later_cost_one_listing(s3, proxy, tmp_path, store):
    pipelines = tmp_path / "pipelines"
    crm = fx.pipeline("crm", pipelines, s3_destination(s3, "multi"), "shared")
    billing = fx.pipeline("billing", pipelines, s3_destination(s3, "multi"), "shared")
    fx.run(crm, fx.users(2))
    fx.run(billing, fx.users(1), load_trace=False)
    bucket = lake(f"s3://{BUCKET}/multi")

    def listings() -> list[str]:
        return [r.query["prefix"][0] for r in proxy.requests if "list-type" in r.query]

    with source_credentials("lake", s3.credentials(proxy.endpoint)):
        assert collect_into(store, bucket).new_runs == 2
        proxy.clear()
        assert collect_into(store, bucket).new_runs == 0
        assert listings() == ["multi/", "multi/shared/_dlt_loads/"] and proxy.count() == 2  # two schemas, one listing

        # a pipeline with a schema whose name sorts before the others starts loading into the dataset
        fx.run(fx.pipeline("accounts", pipelines, s3_destination(s3, "multi"), "shared"), fx.users(3))
        assert collect_into(store, bucket).new_runs == 1
        proxy.clear()
        assert collect_into(store, bucket).new_runs == 0
        assert listings() == ["multi/", "multi/shared/_dlt_loads/"]
    assert rows(store, "SELECT schema_name, row_count FROM runs ORDER BY schema_name") == [
        ("accounts", 6),
        ("billing", None),
        ("crm", 4),  # billing: jsonl without a trace, no count
    ]


def test_a_source_that_names_its_datasets_lists_only_theirs_and_finds_one_that_appears_later(
    s3, proxy, tmp_path, store
):
    pipelines = tmp_path / "pipelines"
    fx.run(fx.pipeline("crm", pipelines, s3_destination(s3, "named"), "crm"), fx.users(2))
    fx.run(fx.pipeline("other", pipelines, s3_destination(s3, "named"), "other"), fx.users(1))
    bucket = lake(f"s3://{BUCKET}/named", datasets=["crm", "billing"])

    def listings() -> list[str]:
        return sorted(r.query["prefix"][0] for r in proxy.requests if "list-type" in r.query)

    with source_credentials("lake", s3.credentials(proxy.endpoint)):
        first = collect_into(store, bucket)
        assert first.new_runs == 1
        assert first.outcomes[0].errors == [
            "source 'lake': s3://lake/named/billing: dataset not found (no _dlt_loads/ in it)"
        ]
        proxy.clear()
        assert collect_into(store, bucket).new_runs == 0
        # no listing of the prefix: one listing a named dataset, and none of a folder it did not name
        assert listings() == ["named/billing/_dlt_loads/", "named/crm/_dlt_loads/"]

        fx.run(fx.pipeline("billing", pipelines, s3_destination(s3, "named"), "billing"), fx.users(3))
        later = collect_into(store, bucket)  # the named dataset that did not exist is found once it does
    assert later.ok and later.new_runs == 1
    assert rows(store, "SELECT dataset_name, count(*) FROM runs GROUP BY 1 ORDER BY 1") == [("billing", 1), ("crm", 1)]


def test_a_folder_larger_than_a_page_is_listed_from_each_schemas_position(s3, proxy, tmp_path, store, monkeypatch):
    import collectors.bucket

    pipelines = tmp_path / "pipelines"
    crm = fx.pipeline("crm", pipelines, s3_destination(s3, "paged"), "shared")
    fx.run(fx.pipeline("billing", pipelines, s3_destination(s3, "paged"), "shared"), fx.users(1), load_trace=False)
    for start in (0, 10):
        fx.run(crm, fx.users(1, start=start))  # a load and its trace upload each: 4 crm keys
    bucket = lake(f"s3://{BUCKET}/paged", lookback_hours=0)
    monkeypatch.setattr(collectors.bucket, "PAGE_SIZE", 2)
    with source_credentials("lake", s3.credentials(proxy.endpoint)):
        assert collect_into(store, bucket).new_runs == 3
        proxy.clear()
        assert collect_into(store, bucket).new_runs == 0
    loads = [r.query for r in proxy.requests if r.query.get("prefix") == ["paged/shared/_dlt_loads/"]]
    # [billing, crm 1] ends before crm's position, so the next page starts there: crm's older keys
    # are not listed again (paging on would take two pages more)
    assert len(loads) == 2
    assert "start-after" not in loads[0] and loads[1]["start-after"][0] > "paged/shared/_dlt_loads/crm__"
    assert rows(store, "SELECT count(*) FROM runs") == [(3,)]


def test_a_load_that_arrives_late_with_an_older_load_id_is_still_found(s3, tmp_path, store):
    # A package extracted earlier but loaded later (a retry, a second worker) writes a _dlt_loads
    # key that sorts before keys already read; the lookback window finds it.
    late_worker = fx.pipeline("crm", tmp_path / "late", s3_destination(s3, "late"), "crm")
    late_worker.extract(fx.users(2))
    late_worker.normalize()  # the package and its load id exist now
    fx.run(fx.pipeline("crm", tmp_path / "early", s3_destination(s3, "late"), "crm"), fx.users(3), load_trace=False)
    bucket = lake(f"s3://{BUCKET}/late")
    with source_credentials("lake", s3.credentials()):
        assert collect_into(store, bucket).new_runs == 1
        late_worker.load()
        assert collect_into(store, bucket).new_runs == 1
        assert collect_into(store, bucket).new_runs == 0
    assert rows(store, "SELECT count(*) FROM runs") == [(2,)]


def test_a_broken_source_is_named_with_its_reason_and_the_others_are_collected(s3, teams, tmp_path, store):
    wrong_secret = {**s3.credentials(), "aws_access_key_id": s3.keys.access_key_id, "aws_secret_access_key": "oops"}
    down = {**s3.credentials(), "endpoint_url": f"http://127.0.0.1:{free_port()}"}
    with (
        source_credentials("good", s3.credentials()),
        source_credentials("wrongkey", wrong_secret),
        source_credentials("nobucket", s3.credentials()),
        source_credentials("down", down),
    ):
        summary = collect_into(
            store,
            source("good", "filesystem", bucket_url=teams, datasets=["events", "missing"]),
            source("wrongkey", "filesystem", bucket_url=teams),
            source("nobucket", "filesystem", bucket_url="s3://no-such-bucket/teams"),
            source("down", "filesystem", bucket_url=teams),
        )
    errors = {o.source: o.errors for o in summary.outcomes}
    assert errors["good"] == ["source 'good': s3://lake/teams/missing: dataset not found (no _dlt_loads/ in it)"]
    [wrong] = errors["wrongkey"]
    assert wrong.startswith("source 'wrongkey': s3://lake/teams: access denied: check the source's credentials")
    [missing] = errors["nobucket"]
    assert missing.startswith("source 'nobucket': s3://no-such-bucket/teams: bucket or folder not found")
    [unreachable] = errors["down"]
    assert unreachable.startswith("source 'down': s3://lake/teams: cannot reach the storage endpoint")
    assert rows(store, "SELECT DISTINCT source, dataset_name FROM runs") == [("good", "events")]
    assert rows(store, "SELECT source, status FROM sources ORDER BY 1") == [
        ("down", "error"),
        ("good", "error"),
        ("nobucket", "error"),
        ("wrongkey", "error"),
    ]


def test_credentials_never_reach_the_store_the_logs_or_the_errors(s3, teams, tmp_path, store, caplog, capfd):
    caplog.set_level(logging.DEBUG)  # even botocore's wire log: it names the key id, never a secret
    secrets = (s3.keys.secret_access_key, "Wr0ngSecretValue")
    wrong = {**s3.credentials(), "aws_secret_access_key": "Wr0ngSecretValue+/xyz"}
    with source_credentials("lake", s3.credentials()), source_credentials("bad", wrong):
        summary = collect_into(store, lake(teams), source("bad", "filesystem", bucket_url=teams))
    assert [o.status for o in summary.outcomes] == ["ok", "error"]
    captured = capfd.readouterr()
    errors = " ".join(e for o in summary.outcomes for e in o.errors)
    info_logs = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    for value in (*secrets, s3.keys.access_key_id):
        assert find_in_store(store, value) == [], "a credential reached the store"
        for where, text in {"errors": errors, "output": captured.out + captured.err}.items():
            assert value not in text, f"a credential reached the {where}"
    assert s3.keys.access_key_id not in info_logs
    assert not any(secret in caplog.text for secret in secrets)


def test_cli_reads_bucket_credentials_from_dlt_secrets_toml_and_prints_the_cost(s3, teams, tmp_path):
    # the documented convention, as a user sets it up: glasspane.toml names the bucket, dlt's
    # .dlt/secrets.toml (in the folder the collect runs from) holds the credentials
    (tmp_path / ".dlt").mkdir()
    secrets = "\n".join(f'{k} = "{v}"' for k, v in s3.credentials().items())
    (tmp_path / ".dlt" / "secrets.toml").write_text(f"[sources.lake.credentials]\n{secrets}\n")
    (tmp_path / "glasspane.toml").write_text(
        f'[[sources]]\nname = "lake"\nkind = "filesystem"\nbucket_url = "{teams}"\n'
        f'layouts = {{ custom = "{CUSTOM_LAYOUT}" }}\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    done = subprocess.run(
        [sys.executable, "-m", "collectors", "collect", "--config", "glasspane.toml", "--store", "s.duckdb", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "PYTHONPATH": str(PROJECT_DIR)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[1].split() == ["lake", "filesystem", "3", "6", "ok"]
    [cost] = [line for line in lines if line.startswith("cost: lake: ")]
    assert " requests (" in cost and " read" in cost
    assert s3.keys.secret_access_key not in done.stdout + done.stderr


def test_a_cli_collect_with_credentials_in_the_environment_does_not_import_streamlit(s3, teams, tmp_path):
    # without a .dlt/secrets.toml dlt looks for a running Streamlit app's secrets, importing Streamlit
    # (0.1 s of CPU in every collect process); a collect from the command line runs in no app
    (tmp_path / "glasspane.toml").write_text(
        f'[[sources]]\nname = "lake"\nkind = "filesystem"\nbucket_url = "{teams}"\n'
        f'layouts = {{ custom = "{CUSTOM_LAYOUT}" }}\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    env.update({f"SOURCES__LAKE__CREDENTIALS__{k.upper()}": v for k, v in s3.credentials().items()})
    command = ["-X", "importtime", "-m", "collectors", "collect", "--config", "glasspane.toml", "--store", "s.lake"]
    done = subprocess.run(
        [sys.executable, *command, "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "PYTHONPATH": str(PROJECT_DIR)},
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert done.stdout.splitlines()[1].split() == ["lake", "filesystem", "3", "6", "ok"]
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "dlt.common.configuration" in imported  # dlt resolved the credentials
    assert not [name for name in imported if name.startswith("streamlit.")]  # (dlt's attempt shows as "streamlit")


def test_the_page_shows_a_bucket_error_without_its_credentials(s3, teams, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    config = tmp_path / "glasspane.toml"
    config.write_text(
        f'[[sources]]\nname = "lake"\nkind = "filesystem"\nbucket_url = "{teams}"\n\n'
        f'[[sources]]\nname = "bad"\nkind = "filesystem"\nbucket_url = "{teams}"\n'
    )
    monkeypatch.setenv("GLASSPANE_CONFIG", str(config))
    monkeypatch.setenv("GLASSPANE_STORE", str(tmp_path / "store.duckdb"))
    wrong = {**s3.credentials(), "aws_secret_access_key": "Wr0ngSecretValue+/xyz"}
    with source_credentials("lake", s3.credentials()), source_credentials("bad", wrong):
        at = AppTest.from_file(str(PROJECT_DIR / "app.py"), default_timeout=120).run()
        at.button(key="empty_collect").click().run()
    assert not at.exception, at.exception
    shown = [e.value for kind in (at.text, at.warning, at.error, at.success, at.caption, at.markdown) for e in kind]
    assert any(str(v).startswith("source 'bad': s3://lake/teams: access denied") for v in shown), shown
    page = " ".join(map(str, shown)) + " ".join(d.value.to_csv() for d in at.dataframe)
    for value in (s3.keys.secret_access_key, "Wr0ngSecretValue", s3.keys.access_key_id):
        assert value not in page
