"""The PII inventory: hinted, inherited and confirmed PII columns, and suspected untagged ones."""

from __future__ import annotations

import duckdb
import pandas as pd

from glasspane.queries.common import frame
from glasspane.queries.governance import inherited_pii_rows

INVENTORY_COLUMNS = [
    "source",
    "location",
    "dataset_name",
    "schema_name",
    "table_name",
    "root_table",
    "column_name",
    "pii_kind",
    "data_type",
    "first_seen_at",
    "basis",
    "note",
]


def pii_inventory(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every PII column across every source: hinted in a dlt schema (`basis` 'hint'), confirmed by a
    person on the PII page ('confirmed'), or inherited through views and models ('inherited')."""
    tagged = frame(
        con,
        """SELECT c.source, c.location, c.dataset_name, c.schema_name, c.table_name,
                  coalesce(c.root_table, c.table_name) AS root_table, c.column_name,
                  c.pii_kind, c.data_type, c.first_seen_at,
                  CASE WHEN c.pii_origin = 'hint' THEN 'hint' ELSE 'confirmed' END AS basis,
                  CASE WHEN c.pii_origin = 'hint'
                       THEN 'hint ' || list_filter(json_keys(c.hints), k -> contains(lower(k), 'pii'))[1]
                       ELSE 'confirmed by ' || d.decided_by || ': no hint in the dlt schema yet' END AS note
           FROM columns c
           LEFT JOIN pii_decisions d USING (location, dataset_name, table_name, column_name)
           WHERE c.pii
           ORDER BY c.dataset_name, c.table_name, c.column_name, c.location""",
    )
    inherited = inherited_pii_rows(con)
    inherited["basis"] = "inherited"
    return pd.concat([tagged, inherited[INVENTORY_COLUMNS]], ignore_index=True)[INVENTORY_COLUMNS]


FILTERED_COLUMNS = ("source", "dataset_name", "pii_kind")  # what the PII page filters the inventory by


def filter_options(inventory: pd.DataFrame) -> dict[str, list[str]]:
    """The values each PII page filter can take: those the inventory holds."""
    return {column: sorted(inventory[column].dropna().unique()) for column in FILTERED_COLUMNS}


def narrow(found: pd.DataFrame, **chosen: tuple[str, ...]) -> pd.DataFrame:
    """The rows whose columns (`source=`, `dataset_name=`, `pii_kind=`) hold one of the chosen values;
    a column with nothing chosen does not narrow."""
    for column, values in chosen.items():
        if values:
            found = found[found[column].isin(values)]
    return found.reset_index(drop=True)


def suspected_columns(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Columns without a PII hint whose names look personal, each with the kind and the reason it was
    suspected (by name alone: no data value is read) and any decision a person made about it (decided
    ones stay listed here, with their decision; everywhere else they count as decided)."""
    return frame(
        con,
        """SELECT c.source, c.location, c.dataset_name, c.schema_name, c.table_name,
                  coalesce(c.root_table, c.table_name) AS root_table, c.parent_table, c.column_name,
                  c.data_type, c.first_seen_at, d.decision, d.pii_kind AS decided_kind, d.decided_by, d.decided_at,
                  s.suspected_kind, s.reason
           FROM columns c
           JOIN raw.suspected_names s USING (table_name, column_name)
           LEFT JOIN pii_decisions d USING (location, dataset_name, table_name, column_name)
           WHERE c.pii_origin IS DISTINCT FROM 'hint'
           ORDER BY c.dataset_name, c.table_name, c.column_name, c.location""",
    )
