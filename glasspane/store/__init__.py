"""The pane store: a DuckLake, its schema and migrations, and safe concurrent access.

A write is a transaction that adds Parquet files and commits a new snapshot to the catalog, so its
cost follows what it writes, not what the store holds. Readers see whole snapshots: never a torn
store, never blocked by a writer. Writers that collide are retried from the start (`Store.write`),
and on one machine an embedded store's writers also take turns through a lock file, because
SQLite lets one writer commit at a time. A writer killed at any moment commits nothing: the next
write finds the store as the last commit left it, and maintenance removes the files it left.

The migrations define the tables; every store starts from the first. A store written by the
DuckDB-file engine of earlier versions is copied into a new store on first open (see `copy`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import duckdb

from glasspane import settings
from glasspane.dlt_meta import redact_line
from glasspane.formatting import plural
from glasspane.governance.pii import rules_fingerprint
from glasspane.store.lake import (
    ALIAS,
    CATALOG,
    StoreLocation,
    attach,
    fold_catalog_log,
    is_duckdb_file,
    latest_snapshot,
    open_writer,
    parse_location,
    prepare_catalog_file,
    sql_string,
    write_turn,
)

# The schema's version: raise it with every change to a migration, a view or the PII rules (a test holds
# it to the fingerprint). A store migrated by a newer Glasspane is refused by older ones, which would
# otherwise take it back to their own views, and the newer one forward again, each time summarising it anew.
SCHEMA_VERSION = 1
MIGRATIONS_DIR = Path(__file__).parent / "migrations"  # tables: applied once each, in name order
VIEWS_DIR = Path(__file__).parent / "views"  # views: re-created when the code's schema changes
LEGACY_SUFFIX = ".pre-lake"  # a DuckDB-file store, kept after its contents were copied into the lake
WRITE_ATTEMPTS = 8
WRITING = "writing"  # in an embedded store's lock file while a write is under way
_CONFLICTS = ("conflict", "database is locked", "could not serialize", "deadlock", "concurrent")
T = TypeVar("T")
_verified: dict[StoreLocation, int] = {}  # stores known to carry this code's schema, at a version


class StoreBusy(RuntimeError):
    """The store could not be written: another process holds it for longer than we would wait."""


class StoreUnreadable(RuntimeError):
    """The store could not be read (a damaged catalog, or a file that is no store); the message is one line."""


class StoreTooNew(RuntimeError):
    """The store carries a newer Glasspane's schema: this one neither writes it nor takes it back to its own."""


def _migrations() -> list[tuple[str, str]]:
    return [(p.stem, p.read_text()) for p in sorted(MIGRATIONS_DIR.glob("*.sql"))]


def _views_sql() -> str:
    return "\n".join(p.read_text() for p in sorted(VIEWS_DIR.glob("*.sql")))


def schema_fingerprint() -> str:
    """A hash of every migration and view this code expects, and of the rules the summaries judge column
    names by: a store with another is outdated, and migrating it rebuilds its summaries."""
    digest = hashlib.sha256()
    for name, sql in _migrations():
        digest.update(name.encode() + sql.encode())
    digest.update(_views_sql().encode())
    digest.update(rules_fingerprint().encode())
    return digest.hexdigest()[:16]


def carries_current_schema(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the store `con` reads carries this code's schema."""
    try:
        row = con.execute("SELECT value FROM raw.meta WHERE key = 'fingerprint'").fetchone()
    except duckdb.CatalogException:
        return False
    return bool(row) and row[0] == schema_fingerprint()


def is_conflict(ex: BaseException) -> bool:
    """True for an error a concurrent writer caused: the same transaction, run again, may commit."""
    return isinstance(ex, duckdb.Error) and any(word in str(ex).lower() for word in _CONFLICTS)


def snapshot_cursor(snapshot: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor of a snapshot connection, for one thread: the store's views by their names, in UTC."""
    con = snapshot.cursor()
    con.execute("USE store")
    con.execute("SET TimeZone = 'UTC'")
    return con


@dataclass
class WriteStats:
    """What this process's writes cost: commits, collisions retried (by `Store.write`), seconds, turns."""

    committed: int = 0
    retried: int = 0  # attempts a concurrent writer made fail, each run again
    seconds: float = 0.0  # in attempts that committed
    lost_seconds: float = 0.0  # in attempts that failed, backoff excluded
    collisions: Counter[str] = field(default_factory=Counter)  # what collided: 'deleting from raw.datasets'...
    turns: int = 0  # attempts that took their turn with other processes' writers (a scaled store)
    waited_seconds: float = 0.0  # waiting for those turns, within `seconds` and `lost_seconds`

    def describe(self) -> str:
        """One line for a collect's summary."""
        text = f"{plural(self.committed, 'write')} in {self.seconds:.1f} s"
        if self.retried:
            what = ", ".join(f"{n}× {c}" for c, n in self.collisions.most_common())
            text += f", {self.retried} retried after a collision ({self.lost_seconds:.1f} s lost: {what})"
        if self.turns:
            text += f", {self.waited_seconds:.1f} s of it waiting for turns"
        return text


class Store:
    """A pane store: embedded (a local path) or scaled (`postgres://host/db?data_path=…`).

    Query it with `reader()` or a pinned `snapshot()`; change it with `write(fn)` (retried when a
    concurrent writer collides) or `writer()` (one attempt).
    """

    def __init__(
        self, location: str | os.PathLike | StoreLocation, lock_timeout_s: float = 600.0, legacy: Path | None = None
    ):
        self.location = location if isinstance(location, StoreLocation) else parse_location(location)
        self.path: Path | None = self.location.file
        self.lock_timeout_s = lock_timeout_s
        self.legacy = legacy  # a DuckDB-file store to copy in when this store is created
        self.writes = WriteStats()

    @classmethod
    def from_settings(cls, explicit: str | os.PathLike | None = None) -> Store:
        """The configured store: `explicit`, else `GLASSPANE_STORE`, else the project's embedded store."""
        location = settings.store_location(explicit)
        return cls(location, legacy=settings.legacy_store(location))

    def __str__(self) -> str:
        return self.location.label

    @property
    def name(self) -> str:
        """A short name for the store: its file name when embedded, its URL (no credentials) when scaled."""
        return self.path.name if self.path is not None else self.location.label

    def exists(self) -> bool:
        """True once the store has been created."""
        return self.version() > 0 or any(p is not None and is_duckdb_file(p) for p in (self.path, self.legacy))

    def version(self) -> int:
        """The newest committed snapshot: changes with every write, in any process; a cache key for readers."""
        with self.reading():  # every command's first look at the store
            return latest_snapshot(self.location)

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """DuckDB's errors within, short of a concurrent writer's, as `StoreUnreadable` naming this store."""
        try:
            yield
        except duckdb.Error as ex:
            if is_conflict(ex):
                raise
            raise StoreUnreadable(f"store {self}: cannot be read ({redact_line(str(ex), limit=300)})") from None

    def is_current(self) -> bool:
        """True when the store exists and carries this code's schema (checked once per version)."""
        version = self.version()
        if not version:
            return False
        if _verified.get(self.location) == version:
            return True
        with contextlib.closing(attach(self.location, read_only=True)) as con:
            current = carries_current_schema(con)
        if current:
            _verified[self.location] = version
        return current

    def ensure_current(self) -> None:
        """Create the store, or migrate it, when it is missing or outdated; `StoreTooNew` when a newer
        Glasspane migrated it, found by a read: an older dashboard or collect never takes a writer's turn
        only to refuse."""
        if not self.is_current():
            if self.version():
                with contextlib.closing(attach(self.location, read_only=True)) as con, self._naming_newer():
                    _refuse_newer(con)
            self.write(lambda con: None)

    @contextlib.contextmanager
    def _naming_newer(self) -> Iterator[None]:
        """`StoreTooNew` raised within, with this store's name."""
        try:
            yield
        except StoreTooNew as ex:
            raise StoreTooNew(f"store {self}: {ex}") from None

    def snapshot(self, version: int | None = None) -> duckdb.DuckDBPyConnection:
        """A read-only connection pinned to one version of the store (the newest when None)."""
        return attach(self.location, read_only=True, snapshot=version)

    @contextlib.contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived read-only connection to the newest complete store."""
        if not self.is_current():
            self.ensure_current()
        con = attach(self.location, read_only=True)
        try:
            yield con
        finally:
            con.close()

    def write(self, fn: Callable[[duckdb.DuckDBPyConnection], T], attempts: int = WRITE_ATTEMPTS) -> T:
        """Run `fn` in one transaction and commit it; when a concurrent writer collides, run it again.

        `fn` must be safe to run more than once: it reads what it needs inside the transaction.
        """
        for attempt in range(attempts):
            started = time.perf_counter()
            try:
                with self.writer() as con:
                    result = fn(con)
                self.writes.committed += 1
                self.writes.seconds += time.perf_counter() - started
                return result
            except duckdb.Error as ex:
                self.writes.lost_seconds += time.perf_counter() - started
                if not is_conflict(ex):
                    raise
                self.writes.retried += 1
                self.writes.collisions[self._collision(ex)] += 1
                if attempt == attempts - 1:
                    raise StoreBusy(
                        f"{self}: other writers kept the store busy through {attempts} attempts (another collect, "
                        "or a shell holding the catalog open): close it or run again later"
                    ) from ex
                time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def _turn(self) -> Iterator[None]:
        """Writers of a scaled store take turns, on any machine. Every collect's write replaces rows that
        other shards' writes replace too (dataset cursors, source states, pipeline summaries), and
        DuckLake refuses a commit that deletes where another transaction wrote meanwhile: racing, every
        writer but one would redo its whole write, again and again. Taking turns, none does; reads go
        on meanwhile, and a collect keeps reading while its write waits. Shards that start together on
        a new store so create it once. (An embedded store's writers take turns through its lock file.)"""
        if self.path is not None:
            yield
            return
        queued = time.perf_counter()
        with contextlib.ExitStack() as turn:
            try:
                turn.enter_context(write_turn(self.location, self.lock_timeout_s))
            except TimeoutError:
                raise StoreBusy(f"{self}: another writer kept its turn over {self.lock_timeout_s:.0f} s") from None
            self.writes.turns += 1
            self.writes.waited_seconds += time.perf_counter() - queued
            yield

    def _collision(self, ex: duckdb.Error) -> str:
        """What a concurrent writer collided on, in words: 'deleting from raw.datasets', or the error's kind."""
        found = re.search(r"attempting to (\w+) (?:from |into )?table with index \"(\d+)\"", str(ex))
        if not found:
            detail = re.search(r"conflict - attempting to (.+?) - ", str(ex))
            return detail.group(1)[:80] if detail else ("a locked catalog" if "locked" in str(ex) else "the catalog")
        name = found.group(2)
        with contextlib.suppress(duckdb.Error), contextlib.closing(attach(self.location, read_only=True)) as con:
            row = con.execute(
                f"""SELECT s.schema_name || '.' || t.table_name FROM {CATALOG}.ducklake_table t
                    JOIN {CATALOG}.ducklake_schema s USING (schema_id)
                    WHERE t.table_id = ? ORDER BY t.begin_snapshot DESC LIMIT 1""",
                [int(name)],
            ).fetchone()
            name = row[0] if row else name
        return f"{found.group(1).removesuffix('e')}ing {name}"

    @contextlib.contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection in one transaction, committed when the block ends.

        If the block raises, nothing it did is committed.
        """
        with self._local_lock() as killed, self._turn():
            legacy = self._prepare()
            if killed and legacy is None:
                self._sweep()
            con = open_writer(self.location)
            try:
                con.begin()
                with self._naming_newer():
                    migrate(con, legacy)
                yield con
                con.commit()
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    con.rollback()
                raise
            finally:
                con.close()
            if self.path is not None:
                fold_catalog_log(self.location)
            if legacy is not None:
                legacy.rename(legacy.with_name(legacy.name.removesuffix(".copying") + LEGACY_SUFFIX))

    def _prepare(self) -> Path | None:
        """Create an embedded store's catalog file. A DuckDB-file store found at its path (or at `legacy`)
        is moved aside to `.copying` and returned, to be copied into the new store by the first write."""
        if self.path is None or self.version():
            return None
        old = self.path if is_duckdb_file(self.path) else self.legacy
        moved = (old or self.path).with_name((old or self.path).name + ".copying")
        if not moved.exists() and old is not None and is_duckdb_file(old):
            old.rename(moved)
            with contextlib.suppress(FileNotFoundError):
                Path(f"{old}.wal").rename(Path(f"{moved}.wal"))
        prepare_catalog_file(self.path)
        return moved if moved.exists() else None  # else: nothing to move, or an earlier first write stopped

    def _sweep(self) -> None:
        """Delete the data files a killed writer left behind. Only while holding the lock of an embedded
        store: no other write is under way then, so every file the catalog does not know is an orphan."""
        con = open_writer(self.location)
        try:
            con.execute(f"CALL ducklake_delete_orphaned_files('{ALIAS}', older_than => now())").fetchall()
        except duckdb.Error:  # a sweep that fails leaves the files to maintenance; the write goes on
            pass
        finally:
            con.close()

    @contextlib.contextmanager
    def _local_lock(self) -> Iterator[bool]:
        """Writers of an embedded store on this machine take turns (SQLite commits one at a time).

        Yields True when the previous writer was killed mid-write: the lock file says so until a
        writer ends, however it ends, short of being killed."""
        if self.path is None:
            yield False
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a+") as handle:
            deadline = time.monotonic() + self.lock_timeout_s
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StoreBusy(f"{self.path}: another collect is still writing the store") from None
                    time.sleep(0.05)
            handle.seek(0)
            killed = handle.read() == WRITING
            handle.seek(0)
            handle.truncate()
            handle.write(WRITING)
            handle.flush()
            try:
                yield killed
            finally:
                handle.seek(0)
                handle.truncate()
                handle.flush()
                fcntl.flock(handle, fcntl.LOCK_UN)


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        f'"{schema}"."{name}"'
        for schema, name in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
    }


def _zero(data_type: str) -> str:
    """A literal of the type, for a NOT NULL column."""
    if data_type.endswith("[]"):
        return f"[]::{data_type}"
    if "TIMESTAMP" in data_type or data_type == "DATE":
        return f"'epoch'::{data_type}"
    return {"BOOLEAN": "false", "VARCHAR": "''", "JSON": "'null'"}.get(data_type, f"0::{data_type}")


def _give_statistics(con: duckdb.DuckDBPyConnection, tables: set[str]) -> None:
    """Insert and delete one row in each new table, in this transaction: DuckLake (as shipped for
    DuckDB 1.5) caches no statistics for a table that never held a row and re-reads them from the
    catalog for every column of every query, about 3 ms a column (fixed upstream in ducklake#1313)."""
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, name, kind, nullable in con.execute(
        """SELECT '"' || schema_name || '"."' || table_name || '"', column_name, data_type, is_nullable
           FROM duckdb_columns() WHERE database_name = current_database() ORDER BY column_index"""
    ).fetchall():
        if table in tables:
            columns.setdefault(table, []).append((f'"{name}"', "NULL" if nullable else _zero(kind)))
    if not columns:
        return
    con.execute(
        "".join(
            f"INSERT INTO {table} ({', '.join(n for n, _ in columns[table])}) "
            f"VALUES ({', '.join(v for _, v in columns[table])}); DELETE FROM {table};"
            for table in sorted(columns)
        )
    )


def string_list(texts: list[str]) -> str:
    """A SQL list literal of strings (binding a list as a parameter makes DuckDB load pandas)."""
    return "[" + ", ".join(sql_string(t) for t in texts) + "]::VARCHAR[]"


def migrate(con: duckdb.DuckDBPyConnection, legacy: Path | None = None) -> None:
    """Apply every migration the store has not seen, copy in a DuckDB-file store, re-create the views
    and rebuild the summaries when the store was written by other code. Nothing happens when current."""
    if legacy is None and carries_current_schema(con):
        return
    if con.execute("SELECT type FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0] == (
        "ducklake"
    ):
        con.execute("CALL store.set_option('parquet_compression', 'zstd')")  # smaller files than snappy's
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute("CREATE TABLE IF NOT EXISTS raw.migrations (name TEXT NOT NULL, applied_at TIMESTAMPTZ)")
    con.execute("CREATE TABLE IF NOT EXISTS raw.meta (key TEXT NOT NULL, value TEXT)")
    _refuse_newer(con)
    applied = {row[0] for row in con.execute("SELECT name FROM raw.migrations").fetchall()}
    before = _tables(con)
    for name, sql in _migrations():
        if name not in applied:
            con.execute(sql)
            con.execute("INSERT INTO raw.migrations VALUES (?, now())", [name])
    _give_statistics(con, _tables(con) - before)
    con.execute(_views_sql())
    if legacy is not None:
        from glasspane.store.copy import copy_legacy

        copy_legacy(con, legacy)
    if applied or legacy is not None:  # a new store has nothing to summarise yet
        from glasspane.store import summaries  # pandas and the health model: only a migration needs them here

        summaries.refresh(con)
    if not con.execute("SELECT count(*) FROM raw.meta WHERE key = 'maintained_at'").fetchone()[0]:
        con.execute("INSERT INTO raw.meta VALUES ('maintained_at', now()::TIMESTAMPTZ::TEXT)")  # as good as new
    con.execute("DELETE FROM raw.meta WHERE key IN ('fingerprint', 'schema_version')")
    con.execute(
        "INSERT INTO raw.meta VALUES ('fingerprint', ?), ('schema_version', ?)",
        [schema_fingerprint(), str(SCHEMA_VERSION)],
    )


def _refuse_newer(con: duckdb.DuckDBPyConnection) -> None:
    """Raise `StoreTooNew` when a newer Glasspane migrated the store `con` reads: its schema version is
    higher than this code's, or it holds migrations this code does not know (nothing for a store whose
    bookkeeping tables are not created yet)."""
    try:
        applied = {row[0] for row in con.execute("SELECT name FROM raw.migrations").fetchall()}
        row = con.execute("SELECT max(value::INTEGER) FROM raw.meta WHERE key = 'schema_version'").fetchone()
    except duckdb.CatalogException:
        return
    unknown = applied - {name for name, _ in _migrations()}
    if (row[0] or 0) <= SCHEMA_VERSION and not unknown:
        return
    what = f"schema version {row[0]}" if (row[0] or 0) > SCHEMA_VERSION else f"migration {min(unknown)}"
    raise StoreTooNew(
        f"a newer Glasspane migrated it ({what}; this one knows schema version {SCHEMA_VERSION}): "
        "upgrade Glasspane on this machine; the store was left as it is"
    )
