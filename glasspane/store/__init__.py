"""The pane store: one DuckDB file, its schema and migrations, and safe concurrent access.

DuckDB lets one process write a file and then blocks every other process from opening it.
So the store is never written in place: a writer copies the file, writes the copy and
atomically renames it over the original. Readers (the dashboard, users' SQL) open the file
read-only and always see a complete store, even while a collect is running; the dashboard keeps
one read-only snapshot of each version of the file until a newer one replaces it.
Writers take a lock file so two collects take turns.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from glasspane.store import summaries

MIGRATIONS_DIR = Path(__file__).parent / "migrations"  # tables: applied once each, in name order
VIEWS_DIR = Path(__file__).parent / "views"  # views: re-created on every write, in name order


class StoreBusy(RuntimeError):
    """Another process holds the store's write lock for longer than we were willing to wait."""


def _migrations() -> list[tuple[str, str]]:
    return [(p.stem, p.read_text()) for p in sorted(MIGRATIONS_DIR.glob("*.sql"))]


def _views_sql() -> str:
    return "\n".join(p.read_text() for p in sorted(VIEWS_DIR.glob("*.sql")))


def schema_fingerprint() -> str:
    """A hash of every migration and view this code expects: a store with another is outdated."""
    digest = hashlib.sha256()
    for name, sql in _migrations():
        digest.update(name.encode() + sql.encode())
    digest.update(_views_sql().encode())
    return digest.hexdigest()[:16]


def connect(path: str | os.PathLike, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that speaks UTC, the store's time zone."""
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")
    return con


def carries_current_schema(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the store `con` reads carries this code's schema."""
    try:
        row = con.execute("SELECT value FROM raw.meta WHERE key = 'fingerprint'").fetchone()
    except duckdb.CatalogException:
        return False
    return bool(row) and row[0] == schema_fingerprint()


def open_snapshot(path: str | os.PathLike) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the store file as it is now, for sharing: take a `snapshot_cursor`
    per query. It attaches the file to a private in-memory database, so DuckDB's per-process cache
    of open files never hands it (or anyone) an older version once a writer has replaced the file."""
    literal = str(path).replace("'", "''")
    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH '{literal}' AS store (READ_ONLY)")
    return con


def snapshot_cursor(snapshot: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor of a snapshot, for one thread: the store's views by their names, in UTC."""
    con = snapshot.cursor()
    con.execute("USE store")
    con.execute("SET TimeZone = 'UTC'")
    return con


class Store:
    """A pane store file. Use `reader()` to query it and `writer()` to change it."""

    def __init__(self, path: str | os.PathLike, lock_timeout_s: float = 600.0):
        self.path = Path(path)
        self.lock_timeout_s = lock_timeout_s

    def exists(self) -> bool:
        """True once the store file has been created."""
        return self.path.exists()

    def version(self) -> tuple[int, int]:
        """Changes whenever a writer replaces the file: a cache key for readers."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return (0, 0)
        return (st.st_mtime_ns, st.st_ino)

    def is_current(self) -> bool:
        """True when the file exists and carries this code's schema."""
        if not self.exists():
            return False
        with contextlib.closing(connect(self.path, read_only=True)) as con:
            return carries_current_schema(con)

    def ensure_current(self) -> None:
        """Create the store, or migrate it, when it is missing or outdated."""
        if not self.is_current():
            with self.writer():
                pass

    @contextlib.contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived read-only connection to the newest complete store."""
        if not self.exists():
            self.ensure_current()
        con = connect(self.path, read_only=True)
        try:
            yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection to a private copy that replaces the store when the block ends.

        If the block raises, the store is left exactly as it was.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock():
            tmp = self.path.with_name(f"{self.path.name}.tmp-{os.getpid()}")
            _remove(tmp)
            if self.exists():
                shutil.copyfile(self.path, tmp)
                wal = self.path.with_name(self.path.name + ".wal")
                if wal.exists():  # someone wrote the file in place (a user's duckdb shell)
                    shutil.copyfile(wal, tmp.with_name(tmp.name + ".wal"))
            try:
                con = connect(tmp, read_only=False)
                try:
                    migrate(con)
                    yield con
                    con.execute("CHECKPOINT")
                finally:
                    con.close()
                os.replace(tmp, self.path)
            finally:
                _remove(tmp)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a+") as handle:
            deadline = time.monotonic() + self.lock_timeout_s
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StoreBusy(f"{self.path}: another collect is still writing the store") from None
                    time.sleep(0.1)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Apply every migration the store has not seen, re-create the documented views, and rebuild
    the summaries when the store was written by other code (they may be new or defined anew)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute("CREATE TABLE IF NOT EXISTS raw.migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ)")
    con.execute("CREATE TABLE IF NOT EXISTS raw.meta (key TEXT PRIMARY KEY, value TEXT)")
    applied = {row[0] for row in con.execute("SELECT name FROM raw.migrations").fetchall()}
    stored = con.execute("SELECT value FROM raw.meta WHERE key = 'fingerprint'").fetchone()
    for name, sql in _migrations():
        if name not in applied:
            con.execute(sql)
            con.execute("INSERT INTO raw.migrations VALUES (?, now())", [name])
    con.execute(_views_sql())
    if not stored or stored[0] != schema_fingerprint():
        summaries.refresh(con)
    con.execute("INSERT OR REPLACE INTO raw.meta VALUES ('fingerprint', ?)", [schema_fingerprint()])


def _remove(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()
