"""Collecting each local kind of place from real dlt pipelines: folders, DuckDB files, buckets."""

from __future__ import annotations

import dlt
import pytest

from tests import dlt_fixtures as fx
from tests.conftest import collect_into, rows, source


def test_pipelines_dir_shows_runs_row_counts_environment_and_a_failed_run(tmp_path, store):
    pipelines = tmp_path / "pipelines"
    p = fx.pipeline("crm", pipelines, dlt.destinations.duckdb(str(tmp_path / "crm.duckdb")), "crm_data")
    fx.run(p, fx.users(5), load_trace=False)
    summary = collect_into(store, source("local", "pipelines_dir", path=str(pipelines)))
    assert summary.ok, summary.outcomes[0].errors
    [(status, row_count, environment, location, dataset)] = rows(
        store, "SELECT status, row_count, environment, location, dataset_name FROM runs"
    )
    assert status == "completed"
    assert row_count == 10  # 5 users + 5 addresses, from the trace's normalize metrics
    assert environment in ("local", "docker", "ci", "github_actions")
    assert location == f"duckdb://{tmp_path / 'crm.duckdb'}"  # where the data lives, from the trace
    assert dataset == "crm_data"
    assert rows(store, "SELECT table_name, row_count FROM table_counts ORDER BY 1") == [
        ("users", 5),
        ("users__addresses", 5),
    ]
    assert {r[0] for r in rows(store, "SELECT step FROM run_steps")} == {"extract", "normalize", "load"}

    fx.run_failing(p, "upstream API answered 500 for https://loader:hunter2@api.example.com")
    summary = collect_into(store, source("local", "pipelines_dir", path=str(pipelines)))
    assert summary.new_runs == 1
    [(status, step, error, location)] = rows(
        store, "SELECT status, failed_step, error, location FROM runs WHERE status = 'failed'"
    )
    assert (status, step) == ("failed", "extract")
    assert error.startswith("RuntimeError: upstream API answered 500")
    assert "hunter2" not in error  # credentials in error messages are redacted before storing
    assert location == f"duckdb://{tmp_path / 'crm.duckdb'}"  # resolved from the pipeline's earlier runs


def test_duckdb_destination_gives_runs_counts_pipeline_names_and_nested_pii(tmp_path, store):
    warehouse = tmp_path / "warehouse.duckdb"
    p = fx.pipeline("crm", tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), "crm_data")
    wh = source("wh", "duckdb", path=str(warehouse))
    fx.run(p, fx.users(3))
    assert collect_into(store, wh).new_runs == 1
    fx.run(p, fx.users(2, start=10, extra_column=True))  # the schema evolves: its new version is read
    summary = collect_into(store, wh)
    assert summary.ok, summary.outcomes[0].errors
    assert summary.new_runs == 1  # one data run; the trace uploads are bookkeeping
    assert rows(store, "SELECT pipeline_name, dataset_name, row_count, status FROM runs ORDER BY started_at") == [
        ("crm", "crm_data", 6, "completed"),
        ("crm", "crm_data", 4, "completed"),
    ]
    pii = rows(store, "SELECT table_name, column_name, pii_kind, root_table FROM columns WHERE pii ORDER BY 1, 2")
    assert pii == [
        ("users", "email", "email", "users"),
        ("users", "phone", None, "users"),
        ("users__addresses", "street", "address", "users"),  # nested: the root table says where it lives
    ]
    versions = rows(store, "SELECT version FROM schema_versions WHERE dataset_name = 'crm_data' ORDER BY 1")
    assert len(versions) >= 2
    assert rows(store, "SELECT count(*) FROM columns WHERE column_name = 'nickname'") == [(1,)]


def test_duckdb_file_named_like_its_dataset_reads_without_ambiguity(tmp_path, store):
    # dlt itself fails on such a file ("Ambiguous reference to catalog or schema"); users get one
    # by renaming or copying a warehouse file. The collector attaches it under its own alias.
    loaded = tmp_path / "loaded.duckdb"
    p = fx.pipeline("hr_pipe", tmp_path / "pipelines", dlt.destinations.duckdb(str(loaded)), "hr")
    fx.run(p, fx.users(2), load_trace=False)
    hr = loaded.rename(tmp_path / "hr.duckdb")
    summary = collect_into(store, source("hr", "duckdb", path=str(hr)))
    assert summary.ok, summary.outcomes[0].errors
    assert rows(store, "SELECT dataset_name, count(*) FROM runs GROUP BY 1") == [("hr", 1)]


def test_filesystem_discovers_every_dataset_including_a_custom_layout(tmp_path, store):
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    pipelines = tmp_path / "pipelines"
    events = fx.pipeline("events", pipelines, dlt.destinations.filesystem(bucket.as_uri()), "events")
    fx.run(events, fx.users(4))
    layout = "{schema_name}/{table_name}/{load_id}.{file_id}.{ext}"
    custom = fx.pipeline("custom", pipelines, dlt.destinations.filesystem(bucket.as_uri(), layout=layout), "custom")
    fx.run(custom, fx.users(7), loader_file_format="parquet")
    (bucket / "not_a_dataset").mkdir()

    summary = collect_into(
        store, source("bucket", "filesystem", bucket_url=bucket.as_uri(), layouts={"custom": layout})
    )
    assert summary.ok, summary.outcomes[0].errors
    assert summary.outcomes[0].datasets == 2
    assert rows(store, "SELECT dataset_name, pipeline_name, row_count FROM runs ORDER BY 1") == [
        ("custom", "custom", 14),  # row counts from the _trace tables found through the layout
        ("events", "events", 8),
    ]
    assert rows(store, "SELECT DISTINCT location FROM runs") == [(bucket.as_uri(),)]


def test_a_local_bucket_counts_the_rows_of_loads_without_a_trace_from_their_parquet_footers(tmp_path, store):
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    orders = fx.pipeline("orders", tmp_path / "pipelines", dlt.destinations.filesystem(bucket.as_uri()), "orders")
    fx.run(orders, fx.users(4), load_trace=False, loader_file_format="parquet")
    fx.run(orders, fx.users(5, start=10), load_trace=False, loader_file_format="parquet")
    summary = collect_into(store, source("bucket", "filesystem", bucket_url=bucket.as_uri()))
    assert summary.ok, summary.outcomes[0].errors
    assert rows(store, "SELECT row_count FROM runs ORDER BY started_at") == [(8,), (10,)]
    assert rows(store, "SELECT table_name, row_count FROM table_counts ORDER BY 2, 1") == [
        ("users", 4),
        ("users__addresses", 4),
        ("users", 5),
        ("users__addresses", 5),
    ]


def test_a_load_step_refused_by_the_destination_shows_as_failed_with_a_hint(tmp_path, store):
    # dlt cannot load into hr.duckdb with dataset hr ("Ambiguous reference to catalog or schema"),
    # and its trace of that run cannot be serialised by dlt's own asdict(): the collector copes.
    pipelines = tmp_path / "pipelines"
    p = fx.pipeline("hr_pipe", pipelines, dlt.destinations.duckdb(str(tmp_path / "hr.duckdb")), "hr")
    with pytest.raises(Exception, match="Ambiguous reference"):
        p.run(fx.users(1))
    summary = collect_into(store, source("folder", "pipelines_dir", path=str(pipelines)))
    assert summary.ok, summary.outcomes[0].errors
    [(status, step, error, location)] = rows(
        store, "SELECT status, failed_step, error, location FROM runs WHERE failed_step = 'load'"
    )
    assert status == "failed" and "Ambiguous reference to catalog or schema" in error
    assert location == f"duckdb://{tmp_path / 'hr.duckdb'}"
