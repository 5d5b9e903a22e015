"""Collects are incremental and idempotent, and a run seen by two sources is one run."""

from __future__ import annotations

import dlt
import duckdb

from collectors import registry
from collectors.runner import collect
from glasspane.config import load_config
from tests import dlt_fixtures as fx
from tests.conftest import clone, collect_into, rows, source


def test_recollect_changes_nothing_and_reads_only_new_files(tmp_path, store):
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    p = fx.pipeline("events", tmp_path / "pipelines", dlt.destinations.filesystem(bucket.as_uri()), "events")
    fx.run(p, fx.users(3))
    fx.run(p, fx.users(3, start=10))
    bucket_source = source("bucket", "filesystem", bucket_url=bucket.as_uri())

    first = collect_into(store, bucket_source)
    assert first.new_runs == 2
    before = rows(store, "SELECT * FROM runs ORDER BY run_key")
    counts_before = rows(store, "SELECT * FROM table_counts ORDER BY load_id, table_name")

    again = collect_into(store, bucket_source)
    assert again.ok and again.new_runs == 0
    assert again.outcomes[0].stats.get("get_calls", 0) == 0  # nothing new: no file was read
    assert rows(store, "SELECT * FROM runs ORDER BY run_key") == before
    assert rows(store, "SELECT * FROM table_counts ORDER BY load_id, table_name") == counts_before

    fx.run(p, fx.users(2, start=20))
    third = collect_into(store, bucket_source)
    assert third.new_runs == 1
    # one _dlt_loads file and one trace upload (its _trace rows) for the new run, plus the
    # _dlt_loads file of that trace upload: the earlier loads are not read again
    assert third.outcomes[0].stats["get_calls"] < first.outcomes[0].stats["get_calls"]
    assert rows(store, "SELECT count(*), sum(row_count) FROM runs") == [(3, 16)]


def test_duckdb_recollect_is_idempotent_and_picks_up_new_loads(tmp_path, store):
    warehouse = tmp_path / "w.duckdb"
    p = fx.pipeline("crm", tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), "crm")
    fx.run(p, fx.users(2))
    wh = source("wh", "duckdb", path=str(warehouse))
    assert collect_into(store, wh).new_runs == 1
    snapshot = rows(store, "SELECT * FROM runs")
    assert collect_into(store, wh).new_runs == 0
    assert rows(store, "SELECT * FROM runs") == snapshot
    fx.run(p, fx.users(4, start=5))
    assert collect_into(store, wh).new_runs == 1
    assert rows(store, "SELECT row_count FROM runs ORDER BY started_at") == [(4,), (8,)]


def test_a_run_seen_in_its_working_folder_and_its_destination_is_one_run(tmp_path, store):
    warehouse = tmp_path / "w.duckdb"
    pipelines = tmp_path / "pipelines"
    p = fx.pipeline("crm", pipelines, dlt.destinations.duckdb(str(warehouse)), "crm")
    fx.run(p, fx.users(3))
    fx.run_failing(p)  # only the working folder knows this one
    summary = collect_into(
        store, source("folder", "pipelines_dir", path=str(pipelines)), source("wh", "duckdb", path=str(warehouse))
    )
    assert summary.ok, [o.errors for o in summary.outcomes]
    assert rows(store, "SELECT status, seen_by, row_count, location FROM runs ORDER BY started_at") == [
        ("completed", ["folder", "wh"], 6, f"duckdb://{warehouse}"),
        ("failed", ["folder"], None, f"duckdb://{warehouse}"),
    ]
    assert rows(store, "SELECT count(*) FROM table_counts") == [(2,)]  # not counted twice
    assert rows(store, "SELECT pipeline_name, health, runs, failed_runs FROM pipelines") == [("crm", "failing", 2, 1)]
    # the same schema version, known to both sources, appears once
    assert rows(store, "SELECT count(*), count(DISTINCT version_hash) FROM schema_versions") == [(2, 2)]


def test_a_failed_run_retried_later_ends_completed(tmp_path, store):
    warehouse = tmp_path / "w.duckdb"
    pipelines = tmp_path / "pipelines"
    p = fx.pipeline("crm", pipelines, dlt.destinations.duckdb(str(warehouse)), "crm")
    fx.run(p, fx.users(1), load_trace=False)
    folder = source("folder", "pipelines_dir", path=str(pipelines))
    fx.run_failing(p)
    collect_into(store, folder)
    assert rows(store, "SELECT health FROM pipelines") == [("failing",)]
    fx.run(p, fx.users(2, start=5), load_trace=False)
    collect_into(store, folder)
    assert rows(store, "SELECT health, last_status FROM pipelines") == [("healthy", "completed")]


def test_a_collect_that_finds_nothing_new_writes_nothing_though_sources_hand_their_views_over_again(
    demo_store, tmp_path
):
    # the demo's DuckDB warehouse, working folders and SQL models hand over their definitions, load
    # packages and staging datasets whole on every collect; the demo's own collect found every run new
    store = clone(demo_store, tmp_path / "again.lake")
    config = load_config(demo_store.path.parent / "places" / "glasspane.toml")
    version = store.version()
    again = collect(registry.build_all(config), store)
    assert again.ok and again.new_runs == 0
    assert store.version() == version  # not one snapshot: nothing was written

    [warehouse] = [s.options["path"] for s in config.sources if s.kind == "duckdb"]
    with duckdb.connect(warehouse) as con:
        con.execute("CREATE VIEW crm.recent_signups AS SELECT 1 AS id")
    assert collect(registry.build_all(config), store).ok
    assert store.version() > version  # a view changed without a new load: it is written
    assert rows(store, "SELECT count(*) FROM definitions WHERE name = 'recent_signups'") == [(1,)]


def test_a_working_folder_hands_a_schema_version_over_once_though_each_new_package_carries_it(tmp_path):
    """Turning a package's schema into columns for a store that holds it was half the reading of a folder
    with a new load; the folder's cursor remembers the versions written, and a new version is handed over."""
    pipelines = tmp_path / "pipelines"
    shop = fx.pipeline("shop", pipelines, dlt.destinations.duckdb(str(tmp_path / "lake.duckdb")), "shop")
    collector = registry.build(source("folder", "pipelines_dir", path=str(pipelines)))
    fx.run(shop, fx.users(2), load_trace=False)
    [dataset] = collector.discover()
    first = collector.collect(dataset, {})
    assert first.runs and first.schema_versions
    fx.run(shop, fx.users(2, start=2), load_trace=False)
    again = collector.collect(dataset, first.cursor)
    assert again.runs and again.schema_versions == []
    fx.run(shop, fx.users(2, start=4, extra_column=True), load_trace=False)  # the schema evolves
    evolved = collector.collect(dataset, again.cursor)
    [new] = {v.version_hash for v in evolved.schema_versions}
    assert new not in {v.version_hash for v in first.schema_versions}
    assert any(c.column_name == "nickname" for v in evolved.schema_versions for c in v.columns)
