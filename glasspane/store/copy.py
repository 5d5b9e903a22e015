"""Copying a store's tables into another store: a DuckDB-file store from earlier versions into a new
one, and an embedded store into a scaled one (or back) with `python -m collectors store copy`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from glasspane.store.lake import StoreLocation, attach_as, sql_string

if TYPE_CHECKING:
    from glasspane.store import Store

SKIPPED = ("migrations", "meta")  # each store keeps its own bookkeeping


def _raw_tables(con: duckdb.DuckDBPyConnection, database: str) -> dict[str, list[str]]:
    rows = con.execute(
        """SELECT table_name, list(column_name ORDER BY column_index) FROM duckdb_columns()
           WHERE database_name = ? AND schema_name = 'raw' AND table_name IN (
               SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'raw')
           GROUP BY table_name""",
        [database, database],
    ).fetchall()
    return {table: list(columns) for table, columns in rows if table not in SKIPPED}


def copy_tables(con: duckdb.DuckDBPyConnection, source: str, target: str = "store") -> dict[str, int]:
    """Replace every raw table of `target` with the rows of the same table in `source` (both attached
    to `con`), column by column where both have it; return the rows copied per table."""
    wanted = _raw_tables(con, target)
    found = _raw_tables(con, source)
    copied: dict[str, int] = {}
    for table, columns in sorted(wanted.items()):
        common = [c for c in columns if c in set(found.get(table, []))]
        con.execute(f'DELETE FROM {target}.raw."{table}"')
        if not common:
            continue
        names = ", ".join(f'"{c}"' for c in common)
        con.execute(f'INSERT INTO {target}.raw."{table}" ({names}) SELECT {names} FROM {source}.raw."{table}"')
        copied[table] = con.execute(f'SELECT count(*) FROM {target}.raw."{table}"').fetchone()[0]
    return copied


def copy_legacy(con: duckdb.DuckDBPyConnection, legacy: Path) -> None:
    """Copy a DuckDB-file store (earlier versions' engine) into the store `con` is writing (attached as
    `legacy` to the write's own connection, which closes with it)."""
    try:
        con.execute(f"ATTACH {sql_string(str(legacy))} AS legacy (READ_ONLY)")
    except duckdb.IOException as ex:
        from glasspane.store import StoreBusy

        raise StoreBusy(
            f"{legacy}: the earlier store file is open in another process (a duckdb shell?): close it and run "
            "again to move it into the new store"
        ) from ex
    copy_tables(con, "legacy")
    # stores older than the stored run time: derive it as its migration did
    con.execute("UPDATE raw.runs SET ran_at = coalesce(started_at, finished_at) WHERE ran_at IS NULL")


def copy_store(source: StoreLocation, target: Store) -> dict[str, int]:
    """Copy every table of the store at `source` into `target`, in one write of the target."""
    target.ensure_current()

    def copy(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
        attach_as(con, source, "source_store", read_only=True)  # gone with the write's own connection
        return copy_tables(con, "source_store")

    return target.write(copy)
