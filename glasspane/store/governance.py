"""Governance in the store: collected definitions, the deletion audit, and where copies of loaded rows live
outside the datasets (staging datasets, kept load packages). The lineage refresh is `store.lineage`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import duckdb
import pandas as pd

from glasspane.dlt_meta import redact
from glasspane.records import DefinitionRecord, LoadPackageRecord, StagingDatasetRecord
from glasspane.store.upsert import upsert


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
