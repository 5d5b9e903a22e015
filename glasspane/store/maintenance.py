"""Keeping a store's file count and size bounded under hourly collects.

Every write adds a snapshot, and small writes are kept inside the catalog (DuckLake's inlining) or
as small Parquet files. A table's reads open every live file it has, so a table that every write
touches gets slower with each write until its files are merged. Two steps keep that bounded:

- compaction: a collect that finds a table with more than `MAX_TABLE_FILES` live data and delete
  files merges that table's files into one after its own writes (the files of rows a write
  replaced are rewritten without them first: DuckLake merges only files without deletions);
- maintenance, once a day (or once the store holds `MAX_FILES` data files), and on demand with
  `python -m collectors store maintain`: it also moves inlined rows into Parquet, forgets
  snapshots older than `KEEP_SNAPSHOTS` and deletes the files no kept snapshot needs, including
  files a killed writer left behind.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb

from glasspane.store import Store, is_conflict
from glasspane.store.lake import CATALOG, sql_string

KEEP_SNAPSHOTS = dt.timedelta(days=7)  # readers pinned to a snapshot never outlive this
GRACE = dt.timedelta(hours=1)  # files younger than this may belong to a write still under way
EVERY = dt.timedelta(days=1)
MAX_FILES = 400  # live data files in the store before maintenance runs early
MAX_TABLE_FILES = 8  # live data and delete files of one table before a collect compacts it


@dataclass
class MaintenanceReport:
    """What one maintenance did: data files before and after, snapshots and files removed, tables compacted."""

    files_before: int
    files_after: int
    snapshots_expired: int = 0
    files_deleted: int = 0
    compacted: list[str] = field(default_factory=list)  # 'raw.datasets', ...


@dataclass
class Due:
    """What a collect should do for the store after its writes: full maintenance, and which tables to compact."""

    full: bool = False
    crowded: list[tuple[str, str]] = field(default_factory=list)  # (schema, table)

    def __bool__(self) -> bool:
        return self.full or bool(self.crowded)


def live_files(con: duckdb.DuckDBPyConnection) -> int:
    """The store's live data files (those the newest snapshot reads)."""
    return con.execute(f"SELECT count(*) FROM {CATALOG}.ducklake_data_file WHERE end_snapshot IS NULL").fetchone()[0]


def table_files(con: duckdb.DuckDBPyConnection, over: int, only: tuple[str, str] | None = None) -> list[tuple]:
    """(schema, table, files) of the live tables with more than `over` live data and delete files, most first."""
    # literals, not parameters: binding Python values makes DuckDB import pandas, which a collect that
    # finds nothing new never needs
    where = f"AND s.schema_name = {sql_string(only[0])} AND t.table_name = {sql_string(only[1])}" if only else ""
    return con.execute(
        f"""SELECT s.schema_name, t.table_name, f.files
            FROM {CATALOG}.ducklake_table t JOIN {CATALOG}.ducklake_schema s USING (schema_id)
            JOIN (SELECT table_id, count(*) AS files FROM (
                    SELECT table_id FROM {CATALOG}.ducklake_data_file WHERE end_snapshot IS NULL
                    UNION ALL SELECT table_id FROM {CATALOG}.ducklake_delete_file WHERE end_snapshot IS NULL)
                  GROUP BY table_id) f USING (table_id)
            WHERE t.end_snapshot IS NULL AND s.end_snapshot IS NULL AND f.files > {int(over)} {where}
            ORDER BY f.files DESC, 1, 2"""
    ).fetchall()


def _last_run(con: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    row = con.execute("SELECT value FROM raw.meta WHERE key = 'maintained_at'").fetchone()
    return dt.datetime.fromisoformat(row[0]) if row else None


def is_due(store: Store, now: dt.datetime | None = None) -> Due:
    """What is due: full maintenance when the last (or the store's creation) is older than a day or the
    store holds many data files; compaction of each table with more than `MAX_TABLE_FILES` files."""
    with store.reader() as con:
        return due_in(con, now)


def due_in(con: duckdb.DuckDBPyConnection, now: dt.datetime | None = None) -> Due:
    """`is_due`, read through `con`, a reader of the store."""
    now = now or dt.datetime.now(dt.UTC)
    last = _last_run(con)
    full = (last is not None and now - last > EVERY) or live_files(con) > MAX_FILES
    return Due(full, [(schema, table) for schema, table, _ in table_files(con, MAX_TABLE_FILES)])


def compact(store: Store, tables: list[tuple[str, str]] | None = None) -> list[str]:
    """Merge the live files of each of `tables` (None: every table) that still has more than `MAX_TABLE_FILES`;
    the tables whose files this call rewrote or merged.

    Two writes whatever the number of tables (DuckLake commits compaction apart from other changes),
    each taken in turn with other writers; tables another writer compacted meanwhile are left alone,
    and when that is all of them, nothing is written."""
    with store.reader() as con:
        crowded = [(schema, table) for schema, table, _ in table_files(con, MAX_TABLE_FILES)]
    tables = crowded if tables is None else [t for t in tables if t in crowded]
    done: list[tuple[str, str]] = []
    changed: set[tuple[str, str]] = set()  # the tables a call below rewrote or merged

    def rewrite(con: duckdb.DuckDBPyConnection) -> None:
        # rows replaced by later writes leave delete files, and DuckLake merges only files without them;
        # shards that finish together find the same tables crowded: asked again in the turn, one does the work
        done[:] = [t for t in tables if table_files(con, MAX_TABLE_FILES, t)]
        for schema, table in done:
            sql = "CALL ducklake_rewrite_data_files('store', ?, schema => ?, delete_threshold => 0)"
            if con.execute(sql, [table, schema]).fetchall():
                changed.add((schema, table))

    def merge(con: duckdb.DuckDBPyConnection) -> None:
        for schema, table in done:
            if con.execute("CALL ducklake_merge_adjacent_files('store', ?, schema => ?)", [table, schema]).fetchall():
                changed.add((schema, table))

    if tables:
        store.write(rewrite)
    if done:
        store.write(merge)
    return [f"{schema}.{table}" for schema, table in done if (schema, table) in changed]


def maintain(store: Store, now: dt.datetime | None = None) -> MaintenanceReport:
    """Flush inlined rows, compact crowded tables, merge small files, expire old snapshots, delete unneeded
    and orphaned files."""
    now = now or dt.datetime.now(dt.UTC)
    store.ensure_current()
    with store.reader() as con:
        before = live_files(con)

    def call(sql: str, *params: object) -> int:  # each step commits alone: DuckLake keeps compaction apart
        return len(store.write(lambda con: con.execute(sql, list(params)).fetchall()))

    call("CALL ducklake_flush_inlined_data('store')")
    compacted = compact(store)
    call("CALL ducklake_merge_adjacent_files('store')")
    expired = call("CALL ducklake_expire_snapshots('store', older_than => ?)", now - KEEP_SNAPSHOTS)
    deleted = call("CALL ducklake_cleanup_old_files('store', older_than => ?)", now - GRACE)
    deleted += call("CALL ducklake_delete_orphaned_files('store', older_than => ?)", now - GRACE)
    with store.writer() as con:
        con.execute("DELETE FROM raw.meta WHERE key = 'maintained_at'")
        con.execute("INSERT INTO raw.meta VALUES ('maintained_at', ?)", [now.isoformat()])
    with store.reader() as con:
        after = live_files(con)
    return MaintenanceReport(before, after, expired, deleted, compacted)


def maintain_if_due(store: Store, due: Due | None = None) -> MaintenanceReport | None:
    """Maintenance, or compaction of the crowded tables, when due (`due`, when the caller asked `is_due`
    before its own writes: asking after them costs a fresh attach); a collision with a concurrent writer
    leaves it to the next collect."""
    due = is_due(store) if due is None else due
    try:
        if due.full:
            return maintain(store)
        if not due.crowded:
            return None
        with store.reader() as con:
            before = live_files(con)
        compacted = compact(store, due.crowded)
        if not compacted:  # another collect compacted them first
            return None
        with store.reader() as con:
            return MaintenanceReport(before, live_files(con), compacted=compacted)
    except duckdb.Error as ex:
        if is_conflict(ex):
            return None
        raise
