"""The store engine's promises: writes that follow the new work, killed writers that leave a store the next
collect completes, collects at once that both land, older stores that migrate, maintenance that keeps it small."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest

from glasspane import store as store_module
from glasspane.config import load_config
from glasspane.governance import pii
from glasspane.governance.pii import Suspicion, suspect
from glasspane.records import VIA_DLT_LOADS, VIA_TRACE, RunRecord, run_key
from glasspane.settings import PROJECT_DIR
from glasspane.store import Store, StoreBusy, is_duckdb_file, pipeline_summaries, summaries
from glasspane.store.ingest import write_pending
from glasspane.store.pending import Pending
from tests import dlt_fixtures as fx
from tests.conftest import clone, collect_into, rows, source

SUMMARIES = (
    "raw.location_aliases",
    "raw.latest_columns",
    "raw.suspected_names",
    "raw.pipeline_stats",
    "raw.pipeline_tables",
    "raw.pipeline_schemas",
)
KEYS = {  # what identifies a row of each table a collect upserts
    "raw.runs": "run_key",
    "raw.run_observations": "source, run_key, via",
    "raw.table_count_observations": "source, schema_name, load_id, table_name, via",
    "raw.table_counts": "schema_name, load_id, table_name",
    "raw.datasets": "source, dataset_key",
    "raw.schema_versions": "source, location, dataset_name, schema_name, version_hash",
}


def snapshot_of(store: Store, tables: tuple[str, ...]) -> dict[str, list[tuple]]:
    return {t: sorted(rows(store, f"SELECT * FROM {t}"), key=repr) for t in tables}


def duplicates(store: Store) -> dict[str, int]:
    """Rows that share a key, per table: a collect must never leave any."""
    found = {}
    for table, key in KEYS.items():
        (n,) = rows(store, f"SELECT count(*) - count(DISTINCT ({key})) FROM {table}")[0]
        found[table] = n
    return found


def test_summaries_a_collect_refreshes_piecewise_equal_a_full_rebuild(demo_config, tmp_path):
    store = Store(tmp_path / "piecewise.lake")
    for place in load_config(demo_config).sources:  # the demo's four sources, a write each
        assert collect_into(store, place).ok
    piecewise = snapshot_of(store, SUMMARIES)
    rebuilt = clone(store, tmp_path / "rebuilt.lake")
    with rebuilt.writer() as con:
        summaries.refresh(con)
    assert all(piecewise.values())
    assert snapshot_of(rebuilt, SUMMARIES) == piecewise


@pytest.fixture
def rebuilt(monkeypatch) -> list[int]:
    """How many pipelines each write rebuilt from all their runs (not a new store's or `refresh`'s
    rebuild of every pipeline)."""
    counts: list[int] = []
    rebuild = pipeline_summaries.rebuild

    def spy(con: duckdb.DuckDBPyConnection, pipelines: str = "") -> None:
        if pipelines:
            counts.append(con.execute(f"SELECT count(*) FROM {pipelines}").fetchone()[0])
        rebuild(con, pipelines)

    monkeypatch.setattr(pipeline_summaries, "rebuild", spy)
    return counts


def assert_summaries_equal_a_rebuild(store: Store, tables: tuple[str, ...] = pipeline_summaries.TABLES) -> None:
    kept = snapshot_of(store, tables)
    with store.writer() as con:
        summaries.refresh(con)
    assert snapshot_of(store, tables) == kept


def test_pipelines_that_only_gain_runs_grow_their_summaries_and_equal_a_rebuild(tmp_path, store, rebuilt):
    """A collect of new loads adds them to each pipeline's stored summaries without reading its older runs;
    a collect that sees stored runs again rebuilds those pipelines. Either way the summaries stay what a
    rebuild from every run gives: runs, failures, newest run, cadence, recent row counts, tables, schemas."""
    warehouse, pipelines = tmp_path / "w.duckdb", tmp_path / "pipelines"
    crm = fx.pipeline("crm", pipelines, dlt.destinations.duckdb(str(warehouse)), "crm")
    shop = fx.pipeline("shop", pipelines, dlt.destinations.duckdb(str(warehouse)), "shop")
    wh, folder = source("wh", "duckdb", path=str(warehouse)), source("folder", "pipelines_dir", path=str(pipelines))
    for n in range(1, 5):
        fx.run(crm, fx.users(n, start=10 * n))
        fx.run(shop, fx.users(n + 1, start=10 * n))
        rebuilt.clear()
        assert collect_into(store, wh).ok
        assert rebuilt == [], f"collect {n} of new loads rebuilt pipelines"
        assert_summaries_equal_a_rebuild(store)
    fx.run_failing(crm)
    rebuilt.clear()
    assert collect_into(store, folder).ok  # the same runs again, from their working folders, and a failure
    assert len(rebuilt) == 1 and rebuilt[0] >= 2  # crm and shop, whose stored runs it saw again, in one rebuild
    assert_summaries_equal_a_rebuild(store)
    assert rows(store, "SELECT pipeline_name, runs, failed_runs, len(recent_row_counts) FROM pipelines ORDER BY 1") == [
        ("crm", 5, 1, 4),
        ("shop", 4, 0, 4),
    ]
    assert rows(store, "SELECT DISTINCT loads FROM raw.pipeline_tables WHERE table_name = 'users'") == [(4,)]


def test_a_run_its_working_folder_and_its_destination_both_show_is_written_once_and_grows(tmp_path, store, rebuilt):
    """A collect holds a finished source's outcome for its next write: the sources of one collect write
    together, and a new run that a pipeline's working folder and its destination both show is merged
    once, as new. Written a source at a time, the second write merged the stored run again and rebuilt
    its pipeline's summaries from every run it ever had, in every collect."""
    bucket, pipelines = tmp_path / "bucket", tmp_path / "pipelines"
    shop = fx.pipeline("shop", pipelines, dlt.destinations.filesystem(bucket.as_uri()), "shop")
    folder = source("folder", "pipelines_dir", path=str(pipelines))
    lake = source("lake", "filesystem", bucket_url=bucket.as_uri())
    for n in range(1, 4):
        fx.run(shop, fx.users(2, start=2 * n))
        rebuilt.clear()
        writes = store.writes.committed
        summary = collect_into(store, folder, lake)
        assert summary.ok and summary.new_runs == 1
        assert store.writes.committed - writes == 1
        assert rebuilt == [], f"collect {n} rebuilt its pipeline"
        assert_summaries_equal_a_rebuild(store)
    assert rows(store, "SELECT count(*), min(len(seen_by)) FROM raw.runs WHERE NOT is_trace_upload") == [(3, 2)]
    assert rows(store, "SELECT runs, failed_runs, len(recent_row_counts) FROM pipelines") == [(3, 0, 3)]


def contacts(hinted: bool, extra: str | None = None) -> Any:
    """A `contacts` resource whose `contact_email` column carries a PII hint or not, with one more column."""

    @dlt.resource(name="contacts", columns={"contact_email": {"x-annotation-pii": "email"}} if hinted else None)
    def _contacts() -> Iterator[dict[str, Any]]:
        yield {"id": 1, "contact_email": "a@example.com", **({extra: "x"} if extra else {})}

    return _contacts


def test_a_write_judges_only_the_column_names_it_stored_and_the_store_stays_what_judging_all_gives(
    tmp_path, store, monkeypatch
):
    """A column name is suspected while some column of that name carries no PII hint, in any schema. A write
    that stored a schema judges the names of the columns it replaced only (judging every name of the
    store took 0.5 s for 50,000 names), and the suspected names stay what judging every name gives."""
    judged: list[tuple[str, str]] = []

    def spy(column_name: str, table_name: str = "") -> Suspicion | None:
        judged.append((table_name, column_name))
        return suspect(column_name, table_name)

    monkeypatch.setattr(summaries, "suspect", spy)
    warehouse = tmp_path / "w.duckdb"
    crm, shop = (
        fx.pipeline(n, tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), n) for n in ("crm", "shop")
    )
    wh = source("wh", "duckdb", path=str(warehouse))

    def collect_judging(expected: set[tuple[str, str, str]]) -> set[tuple[str, str]]:
        judged.clear()
        assert collect_into(store, wh).ok
        names = set(judged)
        assert {r[:3] for r in rows(store, "SELECT * FROM raw.suspected_names")} >= expected
        assert_summaries_equal_a_rebuild(store, ("raw.suspected_names",))  # a rebuild judges every name
        return names

    crm.run(contacts(hinted=False))
    shop.run(contacts(hinted=False, extra="loyalty_tier"))
    collect_judging({("contacts", "contact_email", "email")})
    crm.run(contacts(hinted=True, extra="home_phone"))  # hinted in crm only: still suspected, for shop's
    names = collect_judging({("contacts", "contact_email", "email"), ("contacts", "home_phone", "phone")})
    assert ("contacts", "home_phone") in names and ("contacts", "loyalty_tier") not in names  # shop's not stored
    shop.run(contacts(hinted=True, extra="loyalty_tier"))  # hinted everywhere: no longer suspected
    collect_judging(set())
    assert ("contacts", "contact_email") not in {r[:2] for r in rows(store, "SELECT * FROM raw.suspected_names")}


def test_a_store_judged_by_other_suspicion_rules_is_judged_again(tmp_path, store, monkeypatch):
    """Names already stored are judged again when the rules change: the rules are part of the store's
    fingerprint, and a store with another is migrated, its summaries rebuilt."""
    warehouse = tmp_path / "w.duckdb"
    shop = fx.pipeline("shop", tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), "shop")
    shop.run(contacts(hinted=False, extra="loyalty_tier"))
    assert collect_into(store, source("wh", "duckdb", path=str(warehouse))).ok
    loyalty = "SELECT suspected_kind FROM raw.suspected_names WHERE column_name = 'loyalty_tier'"
    assert rows(store, loyalty) == []
    monkeypatch.setattr(pii, "_RULES", (*pii._RULES, ("loyalty", ("loyalty",))))
    monkeypatch.setattr(store_module, "_verified", {})  # as a process running the new code starts
    assert not store.is_current()
    store.ensure_current()
    assert rows(store, loyalty) == [("loyalty",)]


def legacy_copy(store: Store, path, drop: tuple[str, ...] = ()) -> None:
    """A DuckDB-file store as versions before DuckLake wrote it, with the contents of `store`."""
    with store.reader() as con:
        tables = {
            t: con.execute(f"SELECT * FROM raw.{t}").df()
            for (t,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'store' AND schema_name = 'raw'"
            ).fetchall()
        }
    with duckdb.connect(str(path)) as legacy:
        legacy.execute("CREATE SCHEMA raw")
        for table, frame in tables.items():
            legacy.register("frame", frame.drop(columns=[c for c in drop if c in frame.columns]))
            legacy.execute(f"CREATE TABLE raw.{table} AS SELECT * FROM frame")
            legacy.unregister("frame")


def test_a_duckdb_file_store_from_earlier_versions_moves_into_the_new_store_on_first_open(demo_store, tmp_path):
    path = tmp_path / "glasspane.duckdb"
    legacy_copy(demo_store, path, drop=("ran_at",))  # older still: from before runs stored when they ran
    store = Store(path)
    assert store.exists() and not store.is_current()
    store.ensure_current()  # what a collect or the dashboard does on opening
    assert not is_duckdb_file(path) and is_duckdb_file(tmp_path / "glasspane.duckdb.pre-lake")  # kept as it was
    for view in ("runs", "pipelines", "columns", "table_counts", "sources"):
        assert rows(store, f"SELECT count(*) FROM {view}") == rows(demo_store, f"SELECT count(*) FROM {view}"), view
    assert rows(store, "SELECT count(*) FROM runs WHERE ran_at IS NULL") == [(0,)]


def test_the_default_store_takes_in_the_earlier_default_file_beside_it(demo_store, tmp_path):
    legacy_copy(demo_store, tmp_path / "glasspane.duckdb")
    store = Store(tmp_path / "glasspane.lake", legacy=tmp_path / "glasspane.duckdb")
    store.ensure_current()
    assert rows(store, "SELECT count(*) FROM runs") == rows(demo_store, "SELECT count(*) FROM runs")
    assert (tmp_path / "glasspane.duckdb.pre-lake").exists() and not (tmp_path / "glasspane.duckdb").exists()


HOLD_OPEN = "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('open', flush=True); time.sleep(30)"


def test_an_earlier_store_file_held_open_elsewhere_gets_one_line_and_moves_later(demo_store, tmp_path):
    path = tmp_path / "glasspane.duckdb"
    legacy_copy(demo_store, path)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_OPEN, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        done = subprocess.run(
            [sys.executable, "-m", "collectors", "alerts", "--dry-run", "--store", str(path)],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "open in another process" in line and "glasspane.duckdb" in line
    store = Store(path)
    store.ensure_current()  # once it is closed, the move completes
    assert rows(store, "SELECT count(*) FROM runs") == rows(demo_store, "SELECT count(*) FROM runs")


@pytest.fixture
def lake_tree(tmp_path):
    """A filesystem destination with 4 datasets × 3 loads, each by a real dlt pipeline, and its config."""
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    for name in ("a", "b", "c", "d"):
        p = fx.pipeline(name, tmp_path / "pipelines", dlt.destinations.filesystem(bucket.as_uri()), name)
        for start in range(0, 9, 3):
            fx.run(p, fx.users(3, start=start))
    config = tmp_path / "glasspane.toml"
    config.write_text(
        "".join(
            f'[[sources]]\nname = "lake_{n}"\nkind = "filesystem"\nbucket_url = "{bucket.as_uri()}"\n'
            f'datasets = ["{n}"]\n\n'
            for n in ("a", "b", "c", "d")
        )
    )
    return config


COLLECT_IN_SMALL_WRITES = textwrap.dedent(
    """
    import sys
    from collectors import registry
    from collectors.runner import collect
    from glasspane.config import load_config
    from glasspane.store import Store
    print("started", flush=True)
    collect(registry.build_all(load_config(sys.argv[1])), Store(sys.argv[2]), flush_records=1, max_parallel_sources=1)
    """
)


def collect_command(config: Path, store: Store) -> subprocess.CompletedProcess:
    """`python -m collectors collect` of this config into this store, as a user runs it."""
    command = ["-m", "collectors", "collect", "--config", str(config), "--store", str(store.path), "--quiet"]
    return subprocess.run([sys.executable, *command], cwd=PROJECT_DIR, capture_output=True, text=True)


def start_small_writes(config: Path, store: Store) -> subprocess.Popen:
    """A collect in a process of its own, writing one record at a time (to be killed); started when it returns."""
    child = subprocess.Popen(
        [sys.executable, "-c", COLLECT_IN_SMALL_WRITES, str(config), str(store.path)],
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "started"
    return child


def test_a_collect_killed_at_any_moment_leaves_a_store_the_next_collect_completes(lake_tree, tmp_path, store):
    expected = 12  # 4 datasets × 3 runs (their trace loads are not runs)
    for delay in (0.0, 0.4, 0.8, 1.2, 1.6, 2.4):
        child = start_small_writes(lake_tree, store)
        time.sleep(delay)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        if store.exists():
            assert duplicates(store) == dict.fromkeys(KEYS, 0), delay
            assert rows(store, "SELECT count(*) FROM runs")[0][0] <= expected
    done = collect_command(lake_tree, store)
    assert done.returncode == 0, done.stdout + done.stderr
    counted = rows(store, "SELECT count(*), count(DISTINCT run_key) FROM runs")
    assert counted == [(expected, expected)], (counted, done.stdout)
    assert duplicates(store) == dict.fromkeys(KEYS, 0)
    assert rows(store, "SELECT sum(runs) FROM pipelines") == [(expected,)]
    assert orphans(store) == []  # what the killed writers left was deleted by the next write


def test_collects_of_different_sources_at_the_same_time_both_land(lake_tree, store):
    command = [
        sys.executable,
        "-m",
        "collectors",
        "collect",
        "--config",
        str(lake_tree),
        "--store",
        str(store.path),
        "--quiet",
        "--source",
    ]
    shards = [
        subprocess.Popen(
            [*command, *names], cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for names in (["lake_a", "lake_b"], ["lake_c", "lake_d"])
    ]
    for shard in shards:
        assert shard.wait(timeout=300) == 0, shard.stdout.read()
    assert rows(store, "SELECT source, count(*) FROM runs GROUP BY 1 ORDER BY 1") == [
        ("lake_a", 3),
        ("lake_b", 3),
        ("lake_c", 3),
        ("lake_d", 3),
    ]
    assert duplicates(store) == dict.fromkeys(KEYS, 0)


def test_a_collect_that_finds_nothing_new_writes_nothing(lake_tree, store):
    command = [sys.executable, "-m", "collectors", "collect", "--config", str(lake_tree), "--store", str(store.path)]
    assert subprocess.run(command, cwd=PROJECT_DIR, capture_output=True).returncode == 0
    version = store.version()
    again = subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True)
    assert again.returncode == 0 and "0 new runs, all ok" in again.stdout
    assert store.version() == version  # no snapshot: not one row written


def test_maintenance_merges_small_files_and_removes_what_a_killed_writer_left(lake_tree, tmp_path, store):
    command = [sys.executable, "-c", COLLECT_IN_SMALL_WRITES, str(lake_tree), str(store.path)]
    subprocess.run(command, cwd=PROJECT_DIR, check=True, capture_output=True)
    orphan = store.path.with_name(store.path.name + ".files") / "raw" / "runs" / "left-by-a-killed-writer.parquet"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"PAR1")
    two_hours_ago = time.time() - 7200
    os.utime(orphan, (two_hours_ago, two_hours_ago))
    before = rows(store, "SELECT * FROM runs ORDER BY run_key")
    done = subprocess.run(
        [sys.executable, "-m", "collectors", "store", "maintain", "--store", str(store.path)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "data files" in done.stdout and not orphan.exists()
    assert rows(store, "SELECT * FROM runs ORDER BY run_key") == before


def test_tables_that_many_writes_touched_are_compacted_and_read_the_same(lake_tree, store, monkeypatch):
    from glasspane.store import maintenance

    command = [sys.executable, "-c", COLLECT_IN_SMALL_WRITES, str(lake_tree), str(store.path)]
    subprocess.run(command, cwd=PROJECT_DIR, check=True, capture_output=True)
    monkeypatch.setattr(maintenance, "MAX_TABLE_FILES", 3)  # a small collect: a few files are already many
    due = maintenance.is_due(store)
    assert not due.full and ("raw", "datasets") in due.crowded, due
    tables = tuple(f"{schema}.{table}" for schema, table in due.crowded)
    before = snapshot_of(store, tables)
    report = maintenance.maintain_if_due(store, due)
    assert report is not None and tuple(report.compacted) == tables
    assert report.files_after < report.files_before
    assert maintenance.is_due(store).crowded == []  # each is down to a file or two
    assert snapshot_of(store, tables) == before
    version = store.version()  # a collect that found the same tables crowded, finishing later, writes nothing
    assert maintenance.maintain_if_due(store, due) is None and store.version() == version


def test_a_collect_that_finds_nothing_new_leaves_compacting_to_the_next_one_that_writes(lake_tree, store, monkeypatch):
    from collectors import registry
    from collectors.runner import collect
    from glasspane.config import load_config
    from glasspane.store import maintenance

    command = [sys.executable, "-c", COLLECT_IN_SMALL_WRITES, str(lake_tree), str(store.path)]
    subprocess.run(command, cwd=PROJECT_DIR, check=True, capture_output=True)
    monkeypatch.setattr(maintenance, "MAX_TABLE_FILES", 3)
    assert maintenance.is_due(store).crowded
    version = store.version()
    unchanged = collect(registry.build_all(load_config(lake_tree)), Store(store.path))
    assert unchanged.new_runs == 0 and unchanged.maintenance is None and store.version() == version
    folder = lake_tree.parent
    p = fx.pipeline("a", folder / "pipelines", dlt.destinations.filesystem((folder / "bucket").as_uri()), "a")
    fx.run(p, fx.users(3, start=9))
    one_new = collect(registry.build_all(load_config(lake_tree)), Store(store.path))
    assert one_new.new_runs == 1 and one_new.maintenance is not None and one_new.maintenance.compacted
    assert duplicates(store) == dict.fromkeys(KEYS, 0)


def orphans(store: Store) -> list[str]:
    """The data files on disk that no snapshot of the store knows (what a killed writer leaves)."""
    with store.writer() as con:
        listed = con.execute("CALL ducklake_delete_orphaned_files('store', dry_run => true, older_than => now())")
        return [path for (path,) in listed.fetchall()]


def test_the_next_write_after_a_killed_writer_deletes_the_files_it_left(lake_tree, store):
    child = start_small_writes(lake_tree, store)
    data = store.path.with_name(store.path.name + ".files")
    deadline = time.monotonic() + 60
    while not list(data.rglob("*.parquet")) and time.monotonic() < deadline:  # killed once it writes data
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    left = data / "raw" / "runs" / "left-by-a-killed-writer.parquet"  # and one that is surely not committed
    left.parent.mkdir(parents=True, exist_ok=True)
    left.write_bytes(b"PAR1")
    assert left.exists() and store.path.with_name(store.path.name + ".lock").read_text() == "writing"
    store.write(lambda con: None)  # the first write after the kill (an empty one)
    assert not left.exists() and orphans(store) == []
    done = collect_command(lake_tree, store)
    assert done.returncode == 0, done.stdout + done.stderr
    assert rows(store, "SELECT count(*), count(DISTINCT run_key) FROM runs") == [(12, 12)]


DASHBOARD = """
import contextlib, sys, time
from glasspane.store import Store
store, pause = Store(sys.argv[1]), float(sys.argv[2])
for n in range(300):
    with contextlib.closing(store.snapshot(store.version())) as con:  # as a page run reads
        con.execute("SELECT count(*) FROM raw.meta").fetchall()
    if n == 0:
        print("reading", flush=True)
    time.sleep(pause)
"""


@pytest.mark.parametrize("pause_s", [0.2, 600], ids=["reading", "idle"])
def test_a_dashboard_between_reads_never_holds_back_the_catalogs_write_ahead_log(store, pause_s):
    """SQLite keeps commits in the catalog's write-ahead log until a checkpoint folds them into the catalog,
    and a read still open holds back the frames newer than it. A dashboard that reads every 0.2 s, or read
    once and idles, holds no read between its reads: before, 40 writes grew the log to 0.4-1 MB."""
    store.ensure_current()
    dashboard = subprocess.Popen(
        [sys.executable, "-c", DASHBOARD, str(store.path), str(pause_s)],
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    log, sizes = Path(f"{store.path}-wal"), []
    try:
        assert dashboard.stdout is not None and dashboard.stdout.readline().strip() == "reading"
        for n in range(40):
            store.write(lambda con, n=n: con.execute("INSERT INTO raw.meta VALUES ('probe', ?)", [str(n)]))
            sizes.append(log.stat().st_size if log.exists() else 0)
    finally:
        dashboard.terminate()
        dashboard.wait()
    assert max(sizes) < 100_000, f"the catalog's write-ahead log grew to {max(sizes):,} bytes: {sizes}"
    assert rows(store, "SELECT count(*) FROM raw.meta WHERE key = 'probe'") == [(40,)]


def test_store_copy_moves_every_table_and_refuses_to_overwrite(demo_store, tmp_path):
    source = clone(demo_store, tmp_path / "source.lake")
    target = tmp_path / "target.lake"
    command = [sys.executable, "-m", "collectors", "store", "copy", "--store", str(source.path), "--to", str(target)]
    done = subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for view in ("runs", "pipelines", "columns", "alerts", "locations"):
        assert rows(Store(target), f"SELECT * FROM {view} ORDER BY ALL") == rows(
            source, f"SELECT * FROM {view} ORDER BY ALL"
        ), view
    again = subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True)
    assert again.returncode == 2 and "add --replace" in again.stderr


def test_a_writer_that_keeps_colliding_says_so_in_one_line(store):
    store.ensure_current()
    impatient = Store(store.path, lock_timeout_s=60)
    calls = []

    def always_collides(con):
        calls.append(1)
        raise duckdb.TransactionException("Transaction conflict: another transaction has inserted into the table")

    with pytest.raises(StoreBusy, match="kept the store busy"):
        impatient.write(always_collides, attempts=3)
    assert len(calls) == 3


def test_summaries_follow_runs_that_a_second_source_moves_to_their_destination(tmp_path, store):
    warehouse, pipelines = tmp_path / "w.duckdb", tmp_path / "pipelines"
    p = fx.pipeline("crm", pipelines, dlt.destinations.duckdb(str(warehouse)), "crm")
    fx.run_failing(p, load_trace=True)  # its working folder first knows no destination for it
    folder, wh = source("folder", "pipelines_dir", path=str(pipelines)), source("wh", "duckdb", path=str(warehouse))
    assert collect_into(store, folder).ok
    fx.run(p, fx.users(2))
    assert collect_into(store, wh).ok  # the same runs, seen where they load
    assert collect_into(store, folder).ok
    piecewise = snapshot_of(store, SUMMARIES)
    with store.writer() as con:
        summaries.refresh(con)
    assert snapshot_of(store, SUMMARIES) == piecewise
    assert rows(store, "SELECT pipeline_name, location FROM pipelines") == [("crm", f"duckdb://{warehouse}")]


def imports_of_collect(config: Path, store: Store, news: str) -> set[str]:
    """The modules a collect of this config into this store imports (`python -X importtime`); it finds `news`."""
    command = ["-X", "importtime", "-m", "collectors", "collect", "--config", str(config), "--store", str(store.path)]
    done = subprocess.run([sys.executable, *command, "--quiet"], cwd=PROJECT_DIR, capture_output=True, text=True)
    assert done.returncode == 0 and news in done.stdout
    return {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}


def test_a_collect_that_finds_nothing_new_loads_neither_dlt_pandas_lineage_deletion_nor_streamlit(lake_tree, store):
    assert collect_command(lake_tree, store).returncode == 0
    imported = imports_of_collect(lake_tree, store, "0 new runs")
    assert "duckdb" in imported and "glasspane.store" in imported  # the record is read as it should be
    # a local bucket is read with `os` alone: fsspec costs 80 ms to import
    heavy = {"dlt", "pandas", "pyarrow", "sqlglot", "streamlit", "glasspane.governance.lineage", "fsspec"}
    assert imported & heavy == set()
    assert not [m for m in imported if m.startswith("glasspane.governance.deletion")]


def test_one_write_replaces_the_definitions_of_each_dataset_it_holds_and_no_others(store):
    from glasspane.records import DefinitionRecord
    from glasspane.store.governance import write_definitions

    def views(*names: str, sql: str = "SELECT 1") -> list[DefinitionRecord]:
        return [DefinitionRecord(name, "view", "duckdb", sql, "duckdb_views()") for name in names]

    store.ensure_current()
    first, later = dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    found = [("wh", "duckdb://w", "crm", views("v_a", "v_b")), ("wh", "duckdb://w", "hr", views("v_h"))]
    store.write(lambda con: write_definitions(con, found, first))
    changed = [("wh", "duckdb://w", "crm", views("v_b", sql="SELECT 2")), ("wh", "duckdb://w", "billing", [])]
    store.write(lambda con: write_definitions(con, changed, later))
    stored = "SELECT dataset_name, name, sql, first_seen_at, last_seen_at FROM raw.definitions ORDER BY ALL"
    assert rows(store, stored) == [
        ("crm", "v_b", "SELECT 2", first, later),  # changed: first seen kept
        ("hr", "v_h", "SELECT 1", first, first),  # another dataset: untouched
    ]
    store.write(lambda con: write_definitions(con, [("wh", "duckdb://w", "crm", [])], later))  # every view dropped
    assert [r[:2] for r in rows(store, stored)] == [("hr", "v_h")]


def test_a_collect_of_working_folders_that_finds_nothing_new_loads_neither_dlt_nor_pandas(tmp_path, store):
    pipelines = tmp_path / "pipelines"
    p = fx.pipeline("crm", pipelines, dlt.destinations.duckdb(str(tmp_path / "w.duckdb")), "crm")
    fx.run(p, fx.users(2))  # a trace.pickle, and kept packages of two schemas (its data, its trace)
    config = tmp_path / "glasspane.toml"
    config.write_text(f'[[sources]]\nname = "folders"\nkind = "pipelines_dir"\npath = "{pipelines}"\n')
    assert "dlt" in imports_of_collect(config, store, "1 new run,")  # the new trace is read with dlt's classes
    imported = imports_of_collect(config, store, "0 new runs")
    assert "collectors.traces" in imported and "glasspane.store" in imported  # the collector's own imports
    assert not [m for m in imported if m.split(".")[0] in ("dlt", "pandas", "pyarrow", "sqlglot", "streamlit")]


def test_new_loads_in_a_local_bucket_load_neither_dlt_nor_lineage_when_no_view_is_traced(lake_tree, store):
    assert collect_command(lake_tree, store).returncode == 0
    versions = "SELECT count(*) FROM schema_versions WHERE dataset_name = 'b'"
    [(before,)] = rows(store, versions)
    bucket = lake_tree.parent / "bucket"
    p = fx.pipeline("b", lake_tree.parent / "pipelines", dlt.destinations.filesystem(bucket.as_uri()), "b")
    fx.run(p, fx.users(2, start=20, extra_column=True), load_trace=False)  # a load, its state, a new schema
    imported = imports_of_collect(lake_tree, store, "1 new run,")
    assert "glasspane.store.ingest" in imported  # it was written
    assert not [m for m in imported if m.split(".")[0] in ("dlt", "sqlglot", "streamlit")]
    assert "glasspane.governance.lineage" not in imported
    assert rows(store, versions) == [(before + 1,)]


class SlowStore(Store):
    """A store whose writes take a while, as over a far network: it counts the datasets each write commits."""

    def __init__(self, path: Path):
        super().__init__(path)
        self.written = 0

    def write(self, fn, attempts: int = 5):
        time.sleep(0.2)
        result = super().write(fn, attempts)
        self.written = rows(self, "SELECT count(*) FROM raw.datasets")[0][0]
        return result


def test_reading_waits_for_a_slow_store_instead_of_holding_every_dataset_read(tmp_path):
    from benchmarks.collect import grow, make_template, write_config
    from collectors import registry
    from collectors.runner import QUEUED_BATCHES, collect
    from glasspane.config import load_config

    root = tmp_path / "tree"
    grow(make_template(tmp_path), root, 60, 1, 0)  # copies of one real dlt run's metadata
    store = SlowStore(tmp_path / "slow.lake")
    ahead = []  # datasets read and not yet committed, each time one more is read
    progress = lambda p: ahead.append(p.done - store.written)  # noqa: E731
    summary = collect(registry.build_all(load_config(write_config(tmp_path, root))), store, progress, flush_records=1)
    assert summary.ok and rows(store, "SELECT count(*) FROM raw.datasets") == [(60,)]
    readers = 8  # a filesystem source reads this many datasets at once
    assert max(ahead) <= QUEUED_BATCHES + readers + 2


def _write_runs(store: Store, source_name: str, via: str, load_ids: list[str], status: str = "completed") -> None:
    pending = Pending(dt.datetime.now(dt.UTC))
    for load_id in load_ids:
        at = dt.datetime.fromtimestamp(float(load_id), dt.UTC)
        record = RunRecord(
            run_key=run_key("shop", load_id),
            via=via,
            status=status,
            location="duckdb://wh",
            load_id=load_id,
            schema_name="shop",
            pipeline_name="shop",
            dataset_name="shop_data",
            started_at=at,
            finished_at=at,
        )
        pending.runs.append((source_name, record))
    store.write(lambda con: write_pending(con, pending, "c", {}, {}))


def test_a_write_that_sees_stored_runs_again_among_new_ones_merges_them_without_duplicates(store):
    """A key lookup skips the files of loads older than the write's oldest: a write that sees an old run
    again beside new ones must still find and replace it, wherever it is stored."""
    old = [f"{1_700_000_000 + 3600 * i}.000000" for i in range(6)]
    for i in range(0, 6, 2):  # three writes: three files of runs
        _write_runs(store, "wh", VIA_DLT_LOADS, old[i : i + 2])
    new = f"{1_700_000_000 + 3600 * 10}.000000"
    _write_runs(store, "folder", VIA_TRACE, [old[0], new], status="failed")  # the oldest run, seen again, and a new one
    assert duplicates(store)["raw.runs"] == 0
    assert (
        rows(store, "SELECT load_id, status, seen_by FROM raw.runs ORDER BY load_id")
        == [
            (old[0], "completed", ["folder", "wh"]),  # merged: the destination's evidence wins
            *[(load_id, "completed", ["wh"]) for load_id in old[1:]],
            (new, "failed", ["folder"]),
        ]
    )
    assert rows(store, "SELECT runs FROM raw.pipeline_stats") == [(7,)]
    _write_runs(store, "wh", VIA_DLT_LOADS, [old[1], f"{1_700_000_000 + 3600 * 11}.000000"])  # the same evidence again
    assert duplicates(store) == dict.fromkeys(KEYS, 0)
    assert rows(store, "SELECT count(*) FROM raw.run_observations") == [(9,)]


def test_a_schema_version_that_later_loads_carry_again_keeps_the_time_it_was_first_seen(tmp_path, store):
    """Each new load package of a working folder carries its schema again. Stored again, the version took
    the newest package's time, and so did the first-seen time of the columns it added; its columns were
    deleted and written again in every collect."""
    pipelines = tmp_path / "pipelines"
    shop = fx.pipeline("shop", pipelines, dlt.destinations.duckdb(str(tmp_path / "lake.duckdb")), "shop")
    folder = source("folder", "pipelines_dir", path=str(pipelines))
    versions = "SELECT version, inserted_at FROM schema_versions ORDER BY version"
    columns = "SELECT table_name, column_name, first_seen_at FROM columns ORDER BY 1, 2"
    fx.run(shop, fx.users(2))
    assert collect_into(store, folder).ok
    first_versions, first_columns = rows(store, versions), rows(store, columns)
    stored_columns = rows(store, "SELECT count(*) FROM raw.schema_columns")
    for n in (1, 2):
        fx.run(shop, fx.users(2, start=2 * n))
        summary = collect_into(store, folder)
        assert summary.ok and summary.new_runs == 1
        assert rows(store, versions) == first_versions
        assert rows(store, columns) == first_columns
    assert rows(store, "SELECT count(*) FROM raw.schema_columns") == stored_columns

    fx.run(shop, fx.users(2, start=10, extra_column=True))  # the schema evolves: a version first seen now
    assert collect_into(store, folder).ok
    evolved = rows(store, versions)
    assert evolved[: len(first_versions)] == first_versions and len(evolved) == len(first_versions) + 1
    assert evolved[-1][1] > first_versions[-1][1]
    assert rows(store, "SELECT first_seen_at FROM columns WHERE column_name = 'nickname'") == [(evolved[-1][1],)]
    assert [c for c in rows(store, columns) if c[1] != "nickname"] == first_columns
