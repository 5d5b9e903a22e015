"""Upserts for a store without key constraints: replace the rows a write already has, append the rest."""

from __future__ import annotations

import duckdb
import pandas as pd


def replace_keys(con: duckdb.DuckDBPyConnection, table: str, rows: str, keys: list[str]) -> None:
    """Put the rows of the relation `rows` into `table`, replacing those with the same `keys`.

    The delete runs only where some key is already stored: a write of new keys only appends, which
    never collides with a concurrent writer.
    """
    match = " AND ".join(f"t.{k} IS NOT DISTINCT FROM n.{k}" for k in keys)
    if con.execute(f"SELECT count(*) FROM {table} t SEMI JOIN {rows} n ON {match}").fetchone()[0]:
        con.execute(f"DELETE FROM {table} t USING {rows} n WHERE {match}")
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {rows}")


def upsert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, keys: list[str]) -> None:
    """Put the rows of `frame` into `table`, replacing those with the same `keys` (the last row of a key wins)."""
    if frame.empty:
        return
    con.register("upsert_rows", frame.drop_duplicates(subset=keys, keep="last"))
    try:
        replace_keys(con, table, "upsert_rows", keys)
    finally:
        con.unregister("upsert_rows")
