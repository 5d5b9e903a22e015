"""Where a pane store lives and how DuckDB attaches it.

A pane store is a DuckLake: a catalog database that records tables, snapshots and files, and
Parquet files that hold the rows. Embedded (the default), the catalog is one SQLite file and the
Parquet files sit in a folder beside it; no server is needed. Scaled, the catalog is a PostgreSQL
database and the files live in object storage (`s3://`, `gs://`, `az://`) or a shared folder, so
collectors and dashboards on many machines share one store. The same SQL serves both.

Credentials never appear in the store setting: PostgreSQL reads libpq's own (`PGPASSWORD`,
`~/.pgpass`, `PGSSLMODE`), object storage DuckDB's secret conventions (`AWS_ACCESS_KEY_ID`, ...).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import duckdb

from glasspane.config import ConfigError

ALIAS = "store"  # the name a store is attached under; `USE store` makes its views plain names
CATALOG = f"__ducklake_metadata_{ALIAS}"  # DuckLake's own tables of the store attached as ALIAS
DATA_SUFFIX = ".files"  # an embedded store's Parquet files: a folder beside its catalog file
_EXTENSIONS = {"sqlite": ("ducklake", "sqlite"), "postgres": ("ducklake", "postgres")}
_loaded_lock = threading.Lock()
_installed: set[str] = set()


class StoreLocationError(ConfigError):
    """A store setting that cannot be used; the message is one line and never holds a credential."""


@dataclass(frozen=True)
class StoreLocation:
    """A pane store's catalog and data path, and how to name it in output."""

    catalog: str  # DuckLake's metadata connection: 'sqlite:/abs/store.lake' or 'postgres:dbname=... host=...'
    data_path: str  # where the Parquet files are written, ending in '/'
    file: Path | None  # the catalog file of an embedded store; None for a scaled one
    label: str  # the store as output names it: a path, or a URL without credentials
    setting: str  # the store setting it was parsed from (it never holds a credential)

    @property
    def embedded(self) -> bool:
        """True for a store in one local file (SQLite catalog), False for a shared catalog."""
        return self.file is not None

    @property
    def kind(self) -> str:
        """'sqlite' or 'postgres': the catalog database."""
        return self.catalog.split(":", 1)[0]


def parse_location(value: str | os.PathLike) -> StoreLocation:
    """A store setting: a local path (embedded), or `postgres://[user@]host[:port]/db?data_path=URL` (scaled)."""
    text = str(value).strip()
    if text.startswith(("postgres://", "postgresql://")):
        return _postgres_location(text)
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise StoreLocationError(
            f"store '{scheme}://…': not a store location (a local path, or postgres://host/db?data_path=…)"
        )
    path = Path(text).expanduser().resolve()
    return StoreLocation(f"sqlite:{path}", f"{path}{DATA_SUFFIX}/", path, str(path), str(path))


def _postgres_location(text: str) -> StoreLocation:
    url = urlsplit(text)
    if url.password is not None:
        raise StoreLocationError(
            "store: the PostgreSQL URL carries a password; remove it and use PGPASSWORD or ~/.pgpass instead"
        )
    database = unquote(url.path.lstrip("/"))
    if not database or not url.hostname:
        raise StoreLocationError("store: a PostgreSQL store needs a host and a database: postgres://host:5432/db")
    data = parse_qs(url.query).get("data_path", [""])[0]
    if not data:
        raise StoreLocationError(
            "store: a PostgreSQL store needs ?data_path= (s3://bucket/prefix/, gs://…, az://… or a shared folder)"
        )
    if "@" in data.split("://", 1)[-1].split("/", 1)[0]:
        raise StoreLocationError("store: data_path carries credentials; use the storage's environment variables")
    parts = [f"dbname={database}", f"host={url.hostname}"]
    parts += [f"port={url.port}"] if url.port else []
    parts += [f"user={unquote(url.username)}"] if url.username else []
    data = data if data.endswith("/") else data + "/"
    user = f"{unquote(url.username)}@" if url.username else ""
    port = f":{url.port}" if url.port else ""
    label = f"postgres://{user}{url.hostname}{port}/{database}"
    return StoreLocation("postgres:" + " ".join(parts), data, None, label, text)


def sql_string(text: str) -> str:
    """A SQL string literal of `text`, quoted as SQL quotes it."""
    return "'" + text.replace("'", "''") + "'"


def _load_extensions(con: duckdb.DuckDBPyConnection, location: StoreLocation) -> None:
    names = list(_EXTENSIONS[location.kind])
    if location.data_path.split("://", 1)[0] in ("s3", "gs", "gcs", "r2", "http", "https"):
        names.append("httpfs")
    _load(con, names)


def _connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for the store's connections.

    DuckDB checks an extension's signature by hashing its whole file at every LOAD, in every new
    database: 0.15-0.2 s each for DuckLake (36 MB) and SQLite, more than a whole no-change collect.
    These extensions are the pinned PyPI packages, installed by pip as all of Glasspane's code is,
    and these connections run only Glasspane's own SQL; so they load without that check.
    """
    return duckdb.connect(":memory:", config={"allow_unsigned_extensions": True})


def _load(con: duckdb.DuckDBPyConnection, names: list[str]) -> None:
    for name in names:
        try:
            con.execute(f"LOAD {name}")
        except duckdb.Error:  # not installed in DuckDB's extension folder yet: from the PyPI package
            with _loaded_lock:
                if name not in _installed:
                    from duckdb_extensions import import_extension

                    import_extension(name)
                    _installed.add(name)
            con.execute(f"LOAD {name}")


def _storage_secret(con: duckdb.DuckDBPyConnection, location: StoreLocation) -> None:
    """Object storage credentials from the environment, as DuckDB and the AWS tools name them."""
    if not location.data_path.startswith("s3://"):
        return
    env = os.environ
    options = {"TYPE": "s3"}
    for key, name in (
        ("KEY_ID", "AWS_ACCESS_KEY_ID"),
        ("SECRET", "AWS_SECRET_ACCESS_KEY"),
        ("SESSION_TOKEN", "AWS_SESSION_TOKEN"),
        ("REGION", "AWS_REGION"),
    ):
        if env.get(name):
            options[key] = env[name]
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        scheme, _, host = endpoint.partition("://")
        options.update(ENDPOINT=host.rstrip("/"), URL_STYLE="path", USE_SSL=str(scheme == "https").lower())
    body = ", ".join(f"{k} {v if k in ('TYPE', 'USE_SSL') else sql_string(v)}" for k, v in options.items())
    con.execute(f"CREATE OR REPLACE SECRET glasspane_store_data ({body})")


def attach_as(
    con: duckdb.DuckDBPyConnection,
    location: StoreLocation,
    alias: str,
    read_only: bool = False,
    snapshot: int | None = None,
) -> None:
    """Attach the store at `location` to `con` under `alias`; `snapshot` pins a read-only attach to one version."""
    if location.file is not None:
        _opening_catalog(location.file)
    _load_extensions(con, location)
    _storage_secret(con, location)
    options = [f"DATA_PATH {sql_string(location.data_path)}"]
    # an embedded store's files are the folder beside its catalog, wherever the two were moved
    options += ["OVERRIDE_DATA_PATH TRUE"] if location.embedded else []
    options += ["READ_ONLY"] if read_only else []
    options += [f"SNAPSHOT_VERSION {int(snapshot)}"] if snapshot is not None else []
    con.execute(f"ATTACH {sql_string('ducklake:' + location.catalog)} AS {alias} ({', '.join(options)})")


class _Instance:
    """One DuckDB database per store and process, extensions loaded and the store attached once:
    loading the extensions costs far more than a query, so connections are cursors of it."""

    def __init__(self, location: StoreLocation):
        self.base = _connect()
        seen = latest_snapshot(location) if location.embedded else 0  # the attach reads this snapshot or a newer one
        attach_as(self.base, location, ALIAS)
        self.location = location
        self.seen = seen  # the newest snapshot this attach was found to read
        self.pinned: dict[int, str] = {}  # snapshot id -> alias of a read-only attach at that version
        self.lock = threading.Lock()

    def behind(self) -> bool:
        """True when this process's attach reads an older snapshot than the catalog holds: a connection that
        stayed inside one read (a result left half read, see `_value`) keeps seeing the catalog as it was then.

        Asking DuckLake which snapshot the attach reads takes 30 ms, and every read that is not pinned to a
        snapshot asks whether it fell behind (three in a collect that finds nothing new): it is asked only
        when a snapshot was committed since the attach was last found current."""
        if not self.location.embedded:
            return False
        newest = latest_snapshot(self.location)
        with self.lock:
            if newest > self.seen:
                self.seen = max(self.seen, _value(self.base, f"SELECT id FROM {ALIAS}.current_snapshot()"))
            return self.seen < newest

    def pin(self, snapshot: int) -> str:
        """The alias of this store attached read-only at `snapshot` (the two newest pins are kept)."""
        with self.lock:
            if snapshot not in self.pinned:
                alias = f"{ALIAS}_v{int(snapshot)}"
                attach_as(self.base, self.location, alias, read_only=True, snapshot=snapshot)
                self.pinned[snapshot] = alias
                for old in sorted(self.pinned)[:-2]:
                    with contextlib.suppress(duckdb.Error):
                        self.base.execute(f"DETACH {self.pinned.pop(old)}")
            return self.pinned[snapshot]


_instances: OrderedDict[StoreLocation, _Instance] = OrderedDict()
_instances_lock = threading.Lock()
_catalog_readers: dict[Path, duckdb.DuckDBPyConnection] = {}  # embedded catalogs, for `latest_snapshot`
_catalog_lock = threading.Lock()
MAX_INSTANCES = 16


def _instance(location: StoreLocation) -> _Instance:
    with _instances_lock:
        found = _instances.get(location)
        if found is None:
            found = _instances[location] = _Instance(location)
            while len(_instances) > MAX_INSTANCES:  # let go, not closed: see `forget`
                _instances.popitem(last=False)
        _instances.move_to_end(location)
        return found


@atexit.register
def _close_all() -> None:
    """Close every store at exit, so that SQLite folds each catalog's write-ahead log into its file."""
    with _instances_lock:
        while _instances:
            _instances.popitem()[1].base.close()
    with _catalog_lock:
        while _catalog_readers:
            _catalog_readers.popitem()[1].close()


def forget(location: StoreLocation) -> None:
    """Let go of this process's connections to a store (after its files were replaced or removed, or it fell
    behind), its catalog's too: the next `attach` starts afresh. The store's database is not closed here:
    other threads may still be reading through its cursors (closing it failed their queries: "Connection
    already closed"); it goes when the last of them is closed."""
    with _instances_lock:
        _instances.pop(location, None)
    with _catalog_lock:
        reader = _catalog_readers.pop(location.file, None) if location.file is not None else None
    if reader is not None:
        reader.close()


def open_writer(location: StoreLocation) -> duckdb.DuckDBPyConnection:
    """A connection for one write, closed by the caller.

    An embedded store's writer gets a database of its own: closing it is what hands SQLite's
    write-ahead log to every other connection, so writes never share the readers' cached database.
    A scaled store's writer is a cursor of this process's database, like a reader's: PostgreSQL
    shows every commit to every connection at once, and attaching the catalog anew for each write
    costs CPU that a machine running several shards lacks.
    """
    if not location.embedded:
        return attach(location)
    con = _connect()
    try:
        attach_as(con, location, ALIAS)
        con.execute(f"USE {ALIAS}")
        con.execute("SET TimeZone = 'UTC'")
    except BaseException:
        con.close()
        raise
    return con


WRITE_TURNS = 0x676C61737370616E  # 'glasspan': the PostgreSQL advisory lock key of a store's writers


@contextlib.contextmanager
def write_turn(location: StoreLocation, timeout_s: float) -> Iterator[None]:
    """One writer of a scaled store at a time, on any machine: a write waits for the others' instead of
    colliding with them. A PostgreSQL advisory lock on the catalog, which a process that dies releases
    with its session. TimeoutError when another writer holds it longer than `timeout_s`."""
    import psycopg

    with psycopg.connect(location.catalog.split(":", 1)[1], autocommit=True, connect_timeout=10) as db:
        db.execute(f"SET lock_timeout = '{int(timeout_s * 1000)}ms'")
        try:
            db.execute("SELECT pg_advisory_lock(%s)", [WRITE_TURNS])
        except psycopg.errors.LockNotAvailable:
            raise TimeoutError from None
        try:
            yield
        finally:
            with contextlib.suppress(psycopg.Error):
                db.execute("SELECT pg_advisory_unlock(%s)", [WRITE_TURNS])


def attach(location: StoreLocation, read_only: bool = False, snapshot: int | None = None) -> duckdb.DuckDBPyConnection:
    """A connection (a cursor of this process's database) with the store in use as `store`, in UTC.

    `snapshot` pins it, read-only, to one version of the store. `read_only` is a promise of the
    caller: the connection could write, but the code that asked for a reader never does.
    """
    instance = _instance(location)
    if snapshot is None and instance.behind():  # its catalog connection kept an old view: start afresh
        forget(location)
        instance = _instance(location)
    alias = instance.pin(snapshot) if snapshot is not None else ALIAS
    with instance.lock:  # sessions and collect threads take cursors one at a time
        con = instance.base.cursor()
    con.execute(f"USE {alias}")
    con.execute("SET TimeZone = 'UTC'")
    return con


# The catalog files this process opens through DuckDB's SQLite. Such a file is never opened any other way
# afterwards: closing any descriptor of a file drops every POSIX lock the process holds on it, SQLite's
# among them. Another process's SQLite then takes itself for the catalog's last user when it closes, and
# deletes the write-ahead log and its index under this process's readers ("database disk image is
# malformed"), and under its writers.
_catalog_files: set[Path] = set()
_catalog_files_lock = threading.Lock()


def _opening_catalog(path: Path) -> None:
    """Record, before it happens, that this process opens the catalog file `path` through DuckDB's SQLite."""
    with _catalog_files_lock:
        _catalog_files.add(path)


def prepare_catalog_file(path: Path) -> None:
    """Create an embedded store's SQLite catalog in WAL mode, so readers never block the writer. An
    existing file is never opened for writing here: only DuckDB's own connections write a catalog."""
    with _catalog_files_lock:  # no attach of this process opens the new file before it is closed here
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.execute("PRAGMA journal_mode=WAL")


def is_duckdb_file(path: Path) -> bool:
    """True for a DuckDB database file (a store written by the earlier engine). A file this process has
    opened as a catalog is not read again (`_catalog_files`): it is one, and reading it would unlock it."""
    with _catalog_files_lock:
        if path in _catalog_files:
            return False
        try:
            with open(path, "rb") as handle:
                return handle.read(12)[8:12] == b"DUCK"
        except OSError:
            return False


def _value(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    """The first value of `sql`'s one row, its result read to the end. A connection whose result was left
    half read stays in its transaction, and so in SQLite's read of the catalog until its next query: that
    read kept every later commit in the catalog's write-ahead log (an idle dashboard: 25 KB a write)."""
    return con.execute(sql).fetchall()[0][0]


def latest_snapshot(location: StoreLocation) -> int:
    """The newest committed snapshot id (0 when the store has none yet), read from the catalog directly."""
    if location.file is None:
        return _postgres_snapshot(location)
    if not location.file.exists() or is_duckdb_file(location.file):  # none yet, or a store of earlier versions
        return 0
    return _sqlite_snapshot(location)


def _sqlite_snapshot(location: StoreLocation) -> int:
    """Read through DuckDB's own SQLite (the copy DuckLake uses), never Python's: two SQLite libraries
    in one process do not see each other's file locks, and a commit of another process can then be lost."""
    with _catalog_lock:
        try:
            newest = _value(_catalog_reader(location), "SELECT max(snapshot_id) FROM catalog.ducklake_snapshot")
        except duckdb.CatalogException:  # created, not yet initialised by DuckLake
            return 0
    return int(newest or 0)


def fold_catalog_log(location: StoreLocation) -> None:
    """Copy what writers committed to an embedded store's catalog from its write-ahead log into the catalog
    (SQLite's passive checkpoint: it waits for no reader), so that the next write starts the log again from
    its beginning. SQLite's own checkpoint at a commit never caught up with DuckLake's writes, and closing
    the catalog folded nothing while this process's last connection to it was read-only: the log held
    every write ever made (110 KB a collect of 10 datasets, dashboard open or not). A fold that fails
    leaves the log to the next write's."""
    if location.file is None or not location.file.exists():
        return
    with _catalog_lock, contextlib.suppress(duckdb.Error):
        _catalog_reader(location).execute("SELECT * FROM sqlite_query('catalog', 'PRAGMA wal_checkpoint(PASSIVE)')")


def _catalog_reader(location: StoreLocation) -> duckdb.DuckDBPyConnection:
    """This process's connection to an embedded store's catalog tables, through the sqlite extension only
    (DuckLake itself is not needed to read them); called holding `_catalog_lock`."""
    path = location.file
    assert path is not None
    reader = _catalog_readers.get(path)
    if reader is None:
        _opening_catalog(path)
        reader = _connect()
        _load(reader, ["sqlite"])
        reader.execute(f"ATTACH {sql_string(str(path))} AS catalog (TYPE sqlite)")  # writable: to checkpoint
        _catalog_readers[path] = reader
    return reader


_pg_lock = threading.Lock()
_pg_connections: dict[str, object] = {}


def _postgres_snapshot(location: StoreLocation) -> int:
    import psycopg

    conninfo = location.catalog.split(":", 1)[1]
    with _pg_lock:
        for attempt in range(2):
            db = _pg_connections.get(conninfo)
            if db is None:
                db = psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
                _pg_connections[conninfo] = db
            try:
                if db.execute("SELECT to_regclass('ducklake_snapshot')").fetchone()[0] is None:
                    return 0
                row = db.execute("SELECT max(snapshot_id) FROM ducklake_snapshot").fetchone()
                return int(row[0] or 0) if row else 0
            except psycopg.OperationalError:
                _pg_connections.pop(conninfo, None)
                if attempt:
                    raise
    return 0
