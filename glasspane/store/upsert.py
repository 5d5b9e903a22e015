"""Upserts for a store without key constraints: replace the rows a write already has, append the rest."""

from __future__ import annotations

import duckdb
import pandas as pd

from glasspane.store.lake import sql_string


def load_floor(con: duckdb.DuckDBPyConnection, rows: str) -> str:
    """A condition on `t` that the stored rows sharing a run or load with `rows` meet: a load id no lower
    than theirs. DuckLake has no index, so a key lookup scans the table; load ids grow with time, as the
    files and row groups a store appends do, so this lets it skip the older ones by their statistics.
    Only for keys that carry the load id (a run's key does). Empty when some row has no load id."""
    lowest, missing = con.execute(
        f"SELECT min(load_id), count(*) FILTER (WHERE load_id IS NULL OR load_id = '') FROM {rows}"
    ).fetchone()
    return "" if missing or lowest is None else f" AND t.load_id >= {sql_string(lowest)}"


def replace_keys(con: duckdb.DuckDBPyConnection, table: str, rows: str, keys: list[str], floor: str = "") -> None:
    """Put the rows of the relation `rows` into `table`, replacing those with the same `keys`
    (`floor`: a condition on `t` every stored row with one of those keys meets, see `load_floor`).

    The delete runs only where some key is already stored: a write of new keys only appends, which
    never collides with a concurrent writer.
    """
    delete_matching(con, table, rows, same_keys("t", "n", keys) + floor)
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {rows}")


def same_keys(a: str, b: str, keys: list[str]) -> str:
    """The condition that rows `a` and `b` have the same `keys`, a missing value matching a missing one."""
    return " AND ".join(f"{a}.{k} IS NOT DISTINCT FROM {b}.{k}" for k in keys)


def delete_matching(con: duckdb.DuckDBPyConnection, table: str, rows: str, match: str) -> None:
    """Delete the rows of `table` (as `t`) that the condition `match` pairs with a row of the relation `rows`
    (as `n`). The delete runs only when some row matches: a delete of nothing may still collide with a
    concurrent writer."""
    if con.execute(f"SELECT count(*) FROM {table} t SEMI JOIN {rows} n ON {match}").fetchone()[0]:
        con.execute(f"DELETE FROM {table} t USING {rows} n WHERE {match}")


def upsert(
    con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, keys: list[str], by_load: bool = False
) -> None:
    """Put the rows of `frame` into `table`, replacing those with the same `keys` (the last row of a key
    wins). `by_load`: the keys carry the rows' load id, so stored rows of older loads are skipped (`load_floor`)."""
    if frame.empty:
        return
    con.register("upsert_rows", frame.drop_duplicates(subset=keys, keep="last"))
    try:
        replace_keys(con, table, "upsert_rows", keys, load_floor(con, "upsert_rows") if by_load else "")
    finally:
        con.unregister("upsert_rows")
