"""The PII inventory: hinted, inherited and confirmed PII columns, and suspected untagged ones."""

from __future__ import annotations

import duckdb
import pandas as pd

from glasspane.pii import suspect
from glasspane.queries.common import frame
from glasspane.queries.governance import inherited_pii_rows

INVENTORY_COLUMNS = [
    "source", "location", "dataset_name", "schema_name", "table_name", "root_table", "column_name", "pii_kind",
    "data_type", "first_seen_at", "basis", "note",
]  # fmt: skip


def pii_inventory(
    con: duckdb.DuckDBPyConnection,
    sources: tuple[str, ...] = (),
    datasets: tuple[str, ...] = (),
    kinds: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Every PII column across every source: hinted in a dlt schema (`basis` 'hint'), confirmed by a
    person on the PII page ('confirmed'), or inherited through views and models ('inherited');
    narrowed to the given sources, datasets and kinds when any are given."""
    tagged = frame(
        con,
        """SELECT c.source, c.location, c.dataset_name, c.schema_name, c.table_name,
                  coalesce(c.root_table, c.table_name) AS root_table, c.column_name,
                  CASE WHEN c.pii THEN c.pii_kind ELSE d.pii_kind END AS pii_kind, c.data_type, c.first_seen_at,
                  CASE WHEN c.pii THEN 'hint' ELSE 'confirmed' END AS basis,
                  CASE WHEN c.pii THEN 'hint ' || list_filter(json_keys(c.hints), k -> contains(lower(k), 'pii'))[1]
                       ELSE 'confirmed by ' || d.decided_by || ': no hint in the dlt schema yet' END AS note
           FROM columns c
           LEFT JOIN pii_decisions d USING (location, dataset_name, table_name, column_name)
           WHERE c.pii OR d.decision = 'confirmed'
           ORDER BY c.dataset_name, c.table_name, c.column_name, c.location""",
    )
    inherited = inherited_pii_rows(con)
    inherited["basis"] = "inherited"
    found = pd.concat([tagged, inherited[INVENTORY_COLUMNS]], ignore_index=True)[INVENTORY_COLUMNS]
    for column, chosen in (("source", sources), ("dataset_name", datasets), ("pii_kind", kinds)):
        if chosen:
            found = found[found[column].isin(chosen)]
    return found.reset_index(drop=True)


def pii_filter_options(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """The values each PII page filter can take."""
    found = pii_inventory(con)
    return {column: sorted(found[column].dropna().unique()) for column in ("source", "dataset_name", "pii_kind")}


def suspected_columns(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Columns without a PII hint whose names look personal, each with the kind and the reason it was
    suspected (by name alone: no data value is read) and any decision a person made about it."""
    columns = frame(
        con,
        """SELECT c.source, c.location, c.dataset_name, c.schema_name, c.table_name,
                  coalesce(c.root_table, c.table_name) AS root_table, c.parent_table, c.column_name,
                  c.data_type, c.first_seen_at, d.decision, d.pii_kind AS decided_kind, d.decided_by, d.decided_at
           FROM columns c
           LEFT JOIN pii_decisions d USING (location, dataset_name, table_name, column_name)
           WHERE NOT c.pii AND NOT starts_with(c.column_name, '_dlt_')
           ORDER BY c.dataset_name, c.table_name, c.column_name, c.location""",
    )
    names = columns[["table_name", "column_name"]].drop_duplicates()
    found = {
        (table, column): suspicion
        for table, column in names.itertuples(index=False)
        if (suspicion := suspect(column, table)) is not None
    }
    keys = list(zip(columns["table_name"], columns["column_name"], strict=True))
    suspected = columns[[key in found for key in keys]].copy()
    suspected["suspected_kind"] = [found[k].kind for k in keys if k in found]
    suspected["reason"] = [found[k].reason for k in keys if k in found]
    return suspected.reset_index(drop=True)
