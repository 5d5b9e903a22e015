"""Stored schema versions and the differences between them."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from glasspane.queries.common import frame
from glasspane.schema_diff import Change, diff_columns

COLUMN_FIELDS = "table_name, column_name, data_type, hints, pii, pii_kind"


def version_columns(
    con: duckdb.DuckDBPyConnection, location: str, dataset_name: str, schema_name: str, version_hash: str
) -> pd.DataFrame:
    """The columns of one stored schema version (dlt's own tables left out)."""
    return versions_columns(con, location, dataset_name, schema_name, (version_hash,))[version_hash]


def versions_columns(
    con: duckdb.DuckDBPyConnection, location: str, dataset_name: str, schema_name: str, hashes: tuple[str, ...]
) -> dict[str, pd.DataFrame]:
    """The columns of some stored versions of one schema, by version hash (dlt's own tables left out), in one
    read: each table a statement reads costs a catalog lookup, whatever it holds. Each version is read from
    one source that stored it (the destination's copy before a working folder's)."""
    wanted = ", ".join("?" * len(hashes))
    columns = frame(
        con,
        f"""WITH v AS (
                SELECT source, location, version_hash FROM raw.schema_versions_resolved
                WHERE resolved_location = ? AND dataset_name = ? AND schema_name = ? AND version_hash IN ({wanted})
                QUALIFY row_number() OVER (PARTITION BY version_hash ORDER BY from_working_folder, source) = 1
            )
            SELECT c.version_hash, {COLUMN_FIELDS}
            FROM raw.schema_columns c JOIN v USING (source, location, version_hash)
            WHERE c.dataset_name = ? AND c.schema_name = ? AND c.version_hash IN ({wanted})
              AND NOT (starts_with(c.table_name, '_dlt_') OR c.table_name = '_trace'
                       OR starts_with(c.table_name, '_trace__'))
            ORDER BY table_name, column_name""",
        [location, dataset_name, schema_name, *hashes, dataset_name, schema_name, *hashes],
    )
    return {
        h: columns[columns["version_hash"] == h].drop(columns="version_hash").reset_index(drop=True) for h in hashes
    }


def diff_versions(
    con: duckdb.DuckDBPyConnection, location: str, dataset_name: str, schema_name: str, old_hash: str, new_hash: str
) -> list[Change]:
    """What changed from one stored version of a schema to another."""
    columns = versions_columns(con, location, dataset_name, schema_name, (old_hash, new_hash))
    return diff_columns(columns[old_hash], columns[new_hash])


def schema_datasets(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every stored schema (location, dataset, schema) with how many versions and when it last changed."""
    return frame(
        con,
        """SELECT location, dataset_name, schema_name, count(*) AS versions, max(inserted_at) AS last_change_at,
                  max(version) AS newest_version
           FROM schema_versions GROUP BY ALL
           ORDER BY dataset_name, schema_name, location""",
    )


def version_history(con: duckdb.DuckDBPyConnection, location: str, dataset_name: str, schema_name: str) -> pd.DataFrame:
    """The stored versions of one schema, oldest first, with how many tables and columns each had."""
    return frame(
        con,
        """WITH sizes AS (
               SELECT c.version_hash, count(DISTINCT c.table_name) AS tables, count(*) AS columns,
                      count(*) FILTER (WHERE c.pii) AS pii_columns
               FROM raw.schema_columns c
               JOIN (  -- each version counted from the first source (by name) that stored it
                   SELECT * FROM raw.schema_versions_resolved
                   WHERE resolved_location = ? AND dataset_name = ? AND schema_name = ?
                   QUALIFY source = min(source) OVER (PARTITION BY version_hash)
               ) v USING (source, location, dataset_name, schema_name, version_hash)
               WHERE NOT (starts_with(c.table_name, '_dlt_') OR c.table_name = '_trace'
                          OR starts_with(c.table_name, '_trace__'))
               GROUP BY c.version_hash
           )
           SELECT s.version, s.version_hash, s.inserted_at, s.engine_version, s.source,
                  coalesce(z.tables, 0) AS tables, coalesce(z.columns, 0) AS columns,
                  coalesce(z.pii_columns, 0) AS pii_columns
           FROM schema_versions s LEFT JOIN sizes z USING (version_hash)
           WHERE s.location = ? AND s.dataset_name = ? AND s.schema_name = ?
           ORDER BY s.version NULLS FIRST, s.inserted_at""",
        [location, dataset_name, schema_name, location, dataset_name, schema_name],
    )


def new_columns(con: duckdb.DuckDBPyConnection, since: dt.datetime, limit: int = 500) -> pd.DataFrame:
    """Columns first seen at or after `since`, across every source, newest first (at most `limit`)."""
    return frame(
        con,
        """SELECT first_seen_at, source, location, dataset_name, schema_name, table_name, column_name, data_type,
                  pii, pii_kind, root_table, schema_version
           FROM columns WHERE first_seen_at >= ?
           ORDER BY first_seen_at DESC, dataset_name, table_name, column_name LIMIT ?""",
        [since, limit],
    )
