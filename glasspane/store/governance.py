"""Governance in the store: collected definitions, the lineage refreshed after each collect, the deletion audit,
and where copies of loaded rows live outside the datasets (staging datasets, kept load packages)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import duckdb
import pandas as pd

from glasspane.dlt_meta import redact
from glasspane.governance.lineage import Definition, DefinitionLineage, Edge
from glasspane.governance.lineage_refresh import derive_lineage
from glasspane.records import DefinitionRecord, LoadPackageRecord, StagingDatasetRecord
from glasspane.store.upsert import upsert

_DEFINITION_PRIORITY = "CASE kind WHEN 'view' THEN 0 ELSE 1 END"  # a real view beats a model file of that name


def write_definitions(
    con: duckdb.DuckDBPyConnection,
    source: str,
    location: str,
    dataset_name: str,
    definitions: list[DefinitionRecord],
    collected_at: dt.datetime,
) -> None:
    """Replace what a source knew of a dataset's definitions, keeping when each was first seen.

    E-mail addresses and credentials written into the SQL (`WHERE email = 'ana@example.com'`) are
    redacted first: the store holds no data value, and lineage does not need literals.
    """
    con.execute(
        "DELETE FROM raw.definitions WHERE source = ? AND location = ? AND dataset_name = ? "
        "AND NOT list_contains(?::VARCHAR[], name)",
        [source, location, dataset_name, [d.name for d in definitions]],
    )
    if not definitions:
        return
    rows = pd.DataFrame(
        [
            [
                source,
                location,
                dataset_name,
                d.name,
                d.kind,
                d.dialect,
                redact(d.sql, limit=len(d.sql) + 1, literals=False),
                d.origin,
                collected_at,
            ]
            for d in definitions
        ],
        columns=["source", "location", "dataset_name", "name", "kind", "dialect", "sql", "origin", "last_seen_at"],
    )
    con.register("definition_rows", rows)
    try:
        con.execute(
            """MERGE INTO raw.definitions d USING definition_rows n
               ON d.source = n.source AND d.location = n.location AND d.dataset_name = n.dataset_name
                  AND d.name = n.name
               WHEN MATCHED AND (d.kind, d.dialect, d.sql, d.origin)
                                IS DISTINCT FROM (n.kind, n.dialect, n.sql, n.origin)
                 THEN UPDATE SET kind = n.kind, dialect = n.dialect, sql = n.sql, origin = n.origin,
                                 last_seen_at = n.last_seen_at
               WHEN NOT MATCHED THEN INSERT (source, location, dataset_name, name, kind, dialect, sql, origin,
                                             first_seen_at, last_seen_at)
                 VALUES (n.source, n.location, n.dataset_name, n.name, n.kind, n.dialect, n.sql, n.origin,
                         n.last_seen_at, n.last_seen_at)"""
        )
    finally:
        con.unregister("definition_rows")


def write_staging(
    con: duckdb.DuckDBPyConnection,
    source: str,
    location: str,
    dataset_name: str,
    staging: StagingDatasetRecord,
    collected_at: dt.datetime,
) -> None:
    """Replace what a source knew of a dataset's staging dataset: its name and the tables it holds."""
    row = pd.DataFrame(
        [[source, location, dataset_name, staging.dataset_name, sorted(staging.tables), collected_at]],
        columns=["source", "location", "dataset_name", "staging_dataset", "tables", "collected_at"],
    )
    upsert(con, "raw.staging_datasets", row, ["source", "location", "dataset_name"])


def write_load_packages(
    con: duckdb.DuckDBPyConnection,
    source: str,
    dataset_key: str,
    packages: list[LoadPackageRecord],
    collected_at: dt.datetime,
) -> None:
    """Replace the load packages a working folder keeps with those its latest collect listed."""
    con.execute("DELETE FROM raw.load_packages WHERE source = ? AND dataset_key = ?", [source, dataset_key])
    if not packages:
        return
    con.executemany(
        """INSERT INTO raw.load_packages (source, dataset_key, location, pipeline_name, dataset_name, load_id,
                                          state, path, tables, collected_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            [
                source,
                dataset_key,
                p.location,
                p.pipeline_name,
                p.dataset_name,
                p.load_id,
                p.state,
                p.path,
                sorted(p.tables),
                collected_at,
            ]
            for p in packages
        ],
    )


def refresh_lineage(con: duckdb.DuckDBPyConnection) -> None:
    """Replace the lineage tables with those derived from every stored definition (once per collect).

    A definition that cannot be traced gets its reason in `definitions.lineage_error`; the others
    are traced as usual. What is derived, and how, is governance's (`derive_lineage`); this only reads and stores.
    """
    derived = derive_lineage(_definitions(con), _known_columns(con), _hinted_columns(con), _previous_results(con))
    _replace(con, "raw.definition_status", derived.statuses)
    _replace(con, "raw.column_lineage", derived.edges)
    _replace(con, "raw.inherited_pii", derived.inherited)


def _definitions(con: duckdb.DuckDBPyConnection) -> dict[str, list[Definition]]:
    """Each location's definitions: one per name, a real view before a model file of that name."""
    definitions: dict[str, list[Definition]] = {}
    for location, dataset, name, kind, dialect, sql in con.execute(
        f"""SELECT location, dataset_name, name, kind, dialect, sql FROM raw.definitions
            QUALIFY row_number() OVER (PARTITION BY location, lower(dataset_name), lower(name)
                                       ORDER BY {_DEFINITION_PRIORITY}, source) = 1
            ORDER BY location, dataset_name, name"""
    ).fetchall():
        definitions.setdefault(location, []).append(Definition(dataset, name, kind, dialect, sql))
    return definitions


def _known_columns(con: duckdb.DuckDBPyConnection) -> dict[str, dict[tuple[str, str], list[str]]]:
    """Each location's tables and their columns, as dlt's schemas know them."""
    known: dict[str, dict[tuple[str, str], list[str]]] = {}
    for location, dataset, table, columns in con.execute(
        """SELECT location, dataset_name, table_name, list(DISTINCT column_name ORDER BY column_name)
           FROM columns GROUP BY ALL"""
    ).fetchall():
        known.setdefault(location, {})[(dataset, table)] = list(columns)
    return known


def _hinted_columns(con: duckdb.DuckDBPyConnection) -> dict[str, dict[tuple[str, str, str], str | None]]:
    """Each location's PII columns (hinted or confirmed) and their kinds."""
    hinted: dict[str, dict[tuple[str, str, str], str | None]] = {}
    for location, dataset, table, column, kind in con.execute(
        "SELECT DISTINCT location, dataset_name, table_name, column_name, pii_kind FROM columns WHERE pii"
    ).fetchall():
        hinted.setdefault(location, {})[(dataset, table, column)] = kind
    return hinted


def _previous_results(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, DefinitionLineage]]:
    """The last refresh's results by location and input key, to reuse for unchanged definitions."""
    edges: dict[tuple[str, str, str], list[Edge]] = {}
    for row in con.execute(
        """SELECT location, dataset_name, table_name, column_name, upstream_dataset, upstream_table, upstream_column,
                  kind, hashed, expression FROM raw.column_lineage"""
    ).fetchall():
        edges.setdefault((row[0], row[1].lower(), row[2].lower()), []).append(Edge(*row[1:]))
    found: dict[str, dict[str, DefinitionLineage]] = {}
    for location, dataset, name, kind, columns, error, key in con.execute(
        "SELECT location, dataset_name, name, kind, columns, error, input_key FROM raw.definition_status"
    ).fetchall():
        stored = Definition(dataset, name, kind, "", "")  # lineage puts the current definition in its place
        table_edges = edges.get((location, dataset.lower(), name.lower()), [])
        found.setdefault(location, {})[key] = DefinitionLineage(stored, list(columns or []), table_edges, error, key)
    return found


def write_audit(con: duckdb.DuckDBPyConnection, rows: Iterable[dict[str, Any]]) -> None:
    """Append executed deletion steps to the audit (`deletion_audit` view)."""
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        return
    con.register("audit_rows", frame)
    try:
        con.execute("INSERT INTO raw.deletion_audit BY NAME SELECT * FROM audit_rows")
    finally:
        con.unregister("audit_rows")


def _replace(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    con.execute(f"DELETE FROM {table}")
    if not rows:
        return
    con.register("replacement_rows", pd.DataFrame(rows))
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM replacement_rows")
    finally:
        con.unregister("replacement_rows")
