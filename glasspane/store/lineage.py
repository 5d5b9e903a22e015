"""The lineage derived from the stored definitions, refreshed within a write that changed what it depends on.

Apart from `store.governance` because deriving lineage loads sqlglot: only a write that stored
definitions or schema versions, or a PII decision, needs it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import duckdb
import pandas as pd

from glasspane.governance.lineage import Definition, DefinitionLineage, Edge
from glasspane.governance.lineage_refresh import derive_lineage
from glasspane.store import string_list

_DEFINITION_PRIORITY = "CASE kind WHEN 'view' THEN 0 ELSE 1 END"  # a real view beats a model file of that name


def refresh_lineage(con: duckdb.DuckDBPyConnection, locations: Collection[str] | None = None) -> None:
    """Replace the lineage tables with those derived from every stored definition (once per collect), or
    only those of `locations` (lineage stays within a location: a PII decision changes its own only).

    A definition that cannot be traced gets its reason in `definitions.lineage_error`; the others
    are traced as usual. What is derived, and how, is governance's (`derive_lineage`); this only reads and stores.
    """
    scope = "TRUE" if locations is None else f"list_contains({string_list(sorted(locations))}, location)"
    derived = derive_lineage(
        _definitions(con, scope), _known_columns(con, scope), _hinted_columns(con, scope), _previous_results(con, scope)
    )
    _replace(con, "raw.definition_status", derived.statuses, scope)
    _replace(con, "raw.column_lineage", derived.edges, scope)
    _replace(con, "raw.inherited_pii", derived.inherited, scope)


def _definitions(con: duckdb.DuckDBPyConnection, scope: str) -> dict[str, list[Definition]]:
    """Each location's definitions: one per name, a real view before a model file of that name."""
    definitions: dict[str, list[Definition]] = {}
    for location, dataset, name, kind, dialect, sql in con.execute(
        f"""SELECT location, dataset_name, name, kind, dialect, sql FROM raw.definitions WHERE {scope}
            QUALIFY row_number() OVER (PARTITION BY location, lower(dataset_name), lower(name)
                                       ORDER BY {_DEFINITION_PRIORITY}, source) = 1
            ORDER BY location, dataset_name, name"""
    ).fetchall():
        definitions.setdefault(location, []).append(Definition(dataset, name, kind, dialect, sql))
    return definitions


def _known_columns(con: duckdb.DuckDBPyConnection, scope: str) -> dict[str, dict[tuple[str, str], list[str]]]:
    """Each location's tables and their columns, as dlt's schemas know them."""
    known: dict[str, dict[tuple[str, str], list[str]]] = {}
    for location, dataset, table, columns in con.execute(
        f"""SELECT location, dataset_name, table_name, list(DISTINCT column_name ORDER BY column_name)
           FROM columns WHERE {scope} GROUP BY ALL"""
    ).fetchall():
        known.setdefault(location, {})[(dataset, table)] = list(columns)
    return known


def _hinted_columns(con: duckdb.DuckDBPyConnection, scope: str) -> dict[str, dict[tuple[str, str, str], str | None]]:
    """Each location's PII columns (hinted or confirmed) and their kinds."""
    hinted: dict[str, dict[tuple[str, str, str], str | None]] = {}
    for location, dataset, table, column, kind in con.execute(
        f"SELECT DISTINCT location, dataset_name, table_name, column_name, pii_kind FROM columns WHERE pii AND {scope}"
    ).fetchall():
        hinted.setdefault(location, {})[(dataset, table, column)] = kind
    return hinted


def _previous_results(con: duckdb.DuckDBPyConnection, scope: str) -> dict[str, dict[str, DefinitionLineage]]:
    """The last refresh's results by location and input key, to reuse for unchanged definitions."""
    edges: dict[tuple[str, str, str], list[Edge]] = {}
    for row in con.execute(
        f"""SELECT location, dataset_name, table_name, column_name, upstream_dataset, upstream_table, upstream_column,
                  kind, hashed, expression FROM raw.column_lineage WHERE {scope}"""
    ).fetchall():
        edges.setdefault((row[0], row[1].lower(), row[2].lower()), []).append(Edge(*row[1:]))
    found: dict[str, dict[str, DefinitionLineage]] = {}
    for location, dataset, name, kind, columns, error, key in con.execute(
        f"SELECT location, dataset_name, name, kind, columns, error, input_key FROM raw.definition_status WHERE {scope}"
    ).fetchall():
        stored = Definition(dataset, name, kind, "", "")  # lineage puts the current definition in its place
        table_edges = edges.get((location, dataset.lower(), name.lower()), [])
        found.setdefault(location, {})[key] = DefinitionLineage(stored, list(columns or []), table_edges, error, key)
    return found


def _replace(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]], scope: str) -> None:
    con.execute(f"DELETE FROM {table} WHERE {scope}")
    if not rows:
        return
    con.register("replacement_rows", pd.DataFrame(rows))
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM replacement_rows")
    finally:
        con.unregister("replacement_rows")
