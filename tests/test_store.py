"""The store's own guarantees: migrations apply once, a failed write changes nothing, writers take turns."""

from __future__ import annotations

import threading
import time

import duckdb
import pytest

from glasspane.store import SCHEMA_VERSION, Store, StoreBusy, schema_fingerprint
from tests.conftest import clone, rows

# The schema each schema version stands for. A change to a migration, a view or the PII rules changes the
# fingerprint: raise `glasspane.store.SCHEMA_VERSION` with it, and record the pair here.
SCHEMA_FINGERPRINTS = {1: "e81a24407fb06967"}


def test_a_change_to_the_schema_raises_its_version():
    """Older Glasspanes refuse a store by its schema version (`StoreTooNew`): a change left at the same
    version would have them take the store back to their own schema."""
    assert SCHEMA_FINGERPRINTS.get(SCHEMA_VERSION) == schema_fingerprint(), (
        "the schema changed: raise SCHEMA_VERSION in glasspane/store/__init__.py and record its fingerprint here"
    )


def test_a_new_store_has_every_documented_view_and_reopening_migrates_nothing(store):
    store.ensure_current()
    views = {r[0] for r in rows(store, "SELECT view_name FROM duckdb_views() WHERE schema_name = 'main'")}
    assert {
        "runs",
        "table_counts",
        "run_steps",
        "columns",
        "schema_versions",
        "sources",
        "collect_log",
        "datasets",
        "pipelines",
    } <= views
    applied = rows(store, "SELECT name, applied_at FROM raw.migrations ORDER BY name")
    assert store.is_current()
    with store.writer():
        pass
    assert rows(store, "SELECT name, applied_at FROM raw.migrations ORDER BY name") == applied


def test_every_table_of_a_new_store_carries_statistics_in_its_catalog(store):
    """DuckLake re-reads a table's statistics from the catalog for every column of every query, 3 ms a
    column, while the table never held a row: a new store gives each table a row, and takes it back."""
    store.ensure_current()
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{store.path}' AS catalog (TYPE sqlite, READ_ONLY)")
        tables, with_statistics = con.execute(
            """SELECT count(*), count(*) FILTER (WHERE table_id IN (SELECT table_id FROM catalog.ducklake_table_stats))
               FROM catalog.ducklake_table WHERE end_snapshot IS NULL"""
        ).fetchone()
    assert tables > 30 and with_statistics == tables
    assert rows(store, "SELECT count(*) FROM raw.runs") == [(0,)]


def test_a_write_that_fails_leaves_the_store_exactly_as_it_was(store):
    store.ensure_current()
    with store.writer() as con:
        con.execute("INSERT INTO raw.meta VALUES ('marker', 'kept')")
    version = store.version()
    with pytest.raises(RuntimeError), store.writer() as con:
        con.execute("UPDATE raw.meta SET value = 'changed' WHERE key = 'marker'")
        raise RuntimeError("the collect broke half-way")
    assert rows(store, "SELECT value FROM raw.meta WHERE key = 'marker'") == [("kept",)]
    assert store.version() == version
    assert not list(store.path.parent.glob("*.tmp-*"))  # no private copy left behind


def test_a_second_writer_waits_for_the_first_and_gives_up_clearly(store):
    store.ensure_current()
    holding = threading.Event()
    release = threading.Event()

    def first() -> None:
        with store.writer():
            holding.set()
            release.wait(5)

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait(5)
    impatient = Store(store.path, lock_timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(StoreBusy, match="another collect is still writing the store"), impatient.writer():
        pass
    assert time.monotonic() - started >= 0.3
    release.set()
    thread.join()
    with impatient.writer():  # free again
        pass


def test_a_store_from_older_code_gets_its_summaries_rebuilt_when_it_is_opened(demo_store, tmp_path):
    summaries = ("raw.latest_columns", "raw.location_aliases", "raw.suspected_names", "raw.pipeline_schemas")
    before = {table: rows(demo_store, f"SELECT count(*) FROM {table}")[0][0] for table in summaries}
    assert all(before.values())  # the demo has a working folder whose failed runs name no destination
    older = clone(demo_store, tmp_path / "older.lake")
    with older.writer() as con:  # as a store written before these summaries existed looks
        for table in summaries:
            con.execute(f"DELETE FROM {table}")
        con.execute("UPDATE raw.meta SET value = 'older code' WHERE key = 'fingerprint'")
    assert not older.is_current()
    older.ensure_current()  # what the dashboard and a collect do on opening
    assert {table: rows(older, f"SELECT count(*) FROM {table}")[0][0] for table in summaries} == before
    assert rows(older, "SELECT count(*) FROM columns") == rows(demo_store, "SELECT count(*) FROM columns")
