"""Keeping a store's file count and size bounded under hourly collects.

Every write adds a snapshot, and small writes are kept inside the catalog (DuckLake's inlining) or
as small Parquet files. Maintenance moves inlined rows into Parquet, merges small files, forgets
snapshots older than `KEEP_SNAPSHOTS` and deletes the files no kept snapshot needs, including
files a killed writer left behind. It runs by itself after a collect once a day (or once a table
has many files), and on demand with `python -m collectors store maintain`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from glasspane.store import Store, is_conflict

KEEP_SNAPSHOTS = dt.timedelta(days=7)  # readers pinned to a snapshot never outlive this
GRACE = dt.timedelta(hours=1)  # files younger than this may belong to a write still under way
EVERY = dt.timedelta(days=1)
MAX_FILES = 400  # live data files in the store before maintenance runs early


@dataclass
class MaintenanceReport:
    """What one maintenance did: data files before and after, snapshots and files removed."""

    files_before: int
    files_after: int
    snapshots_expired: int
    files_deleted: int


def _live_files(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(
        "SELECT count(*) FROM __ducklake_metadata_store.ducklake_data_file WHERE end_snapshot IS NULL"
    ).fetchone()[0]


def _last_run(con: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    row = con.execute("SELECT value FROM raw.meta WHERE key = 'maintained_at'").fetchone()
    return dt.datetime.fromisoformat(row[0]) if row else None


def is_due(store: Store, now: dt.datetime | None = None) -> bool:
    """True when the last maintenance (or the store's creation) is older than a day, or the store holds
    many data files."""
    now = now or dt.datetime.now(dt.UTC)
    with store.reader() as con:
        last = _last_run(con)
        return (last is not None and now - last > EVERY) or _live_files(con) > MAX_FILES


def maintain(store: Store, now: dt.datetime | None = None) -> MaintenanceReport:
    """Flush inlined rows, merge small files, expire old snapshots, delete unneeded and orphaned files."""
    now = now or dt.datetime.now(dt.UTC)
    store.ensure_current()
    with store.reader() as con:
        before = _live_files(con)

    def call(sql: str, *params: object) -> int:  # each step commits alone: DuckLake keeps compaction apart
        return len(store.write(lambda con: con.execute(sql, list(params)).fetchall()))

    call("CALL ducklake_flush_inlined_data('store')")
    call("CALL ducklake_merge_adjacent_files('store')")
    expired = call("CALL ducklake_expire_snapshots('store', older_than => ?)", now - KEEP_SNAPSHOTS)
    deleted = call("CALL ducklake_cleanup_old_files('store', older_than => ?)", now - GRACE)
    deleted += call("CALL ducklake_delete_orphaned_files('store', older_than => ?)", now - GRACE)
    with store.writer() as con:
        con.execute("DELETE FROM raw.meta WHERE key = 'maintained_at'")
        con.execute("INSERT INTO raw.meta VALUES ('maintained_at', ?)", [now.isoformat()])
    with store.reader() as con:
        after = _live_files(con)
    return MaintenanceReport(before, after, expired, deleted)


def maintain_if_due(store: Store, due: bool | None = None) -> MaintenanceReport | None:
    """Maintenance when it is due (`due`, when the caller asked `is_due` before its own writes: asking
    after them costs a fresh attach); a collision with a concurrent writer leaves it to the next collect."""
    try:
        return maintain(store) if (is_due(store) if due is None else due) else None
    except duckdb.Error as ex:
        if is_conflict(ex):
            return None
        raise
