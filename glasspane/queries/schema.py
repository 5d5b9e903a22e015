"""Stored schema versions and the differences between them."""

from __future__ import annotations

import duckdb
import pandas as pd

from glasspane.queries.common import frame
from glasspane.schema_diff import Change, diff_columns

COLUMN_FIELDS = "table_name, column_name, data_type, hints, pii, pii_kind"


def version_columns(
    con: duckdb.DuckDBPyConnection, location: str, dataset_name: str, schema_name: str, version_hash: str
) -> pd.DataFrame:
    """The columns of one stored schema version (dlt's own tables left out)."""
    return frame(
        con,
        f"""WITH v AS (
                SELECT source, location FROM raw.schema_versions_resolved
                WHERE resolved_location = ? AND dataset_name = ? AND schema_name = ? AND version_hash = ?
                ORDER BY from_working_folder, source LIMIT 1
            )
            SELECT {COLUMN_FIELDS} FROM raw.schema_columns c JOIN v USING (source, location)
            WHERE c.dataset_name = ? AND c.schema_name = ? AND c.version_hash = ?
              AND NOT (starts_with(c.table_name, '_dlt_') OR c.table_name = '_trace'
                       OR starts_with(c.table_name, '_trace__'))
            ORDER BY table_name, column_name""",
        [location, dataset_name, schema_name, version_hash, dataset_name, schema_name, version_hash],
    )


def diff_versions(
    con: duckdb.DuckDBPyConnection, location: str, dataset_name: str, schema_name: str, old_hash: str, new_hash: str
) -> list[Change]:
    """What changed from one stored version of a schema to another."""
    old = version_columns(con, location, dataset_name, schema_name, old_hash)
    new = version_columns(con, location, dataset_name, schema_name, new_hash)
    return diff_columns(old, new)
