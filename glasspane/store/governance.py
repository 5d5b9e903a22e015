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
from glasspane.store.upsert import delete_matching, upsert


def write_definitions(
    con: duckdb.DuckDBPyConnection,
    found: list[tuple[str, str, str, list[DefinitionRecord]]],
    collected_at: dt.datetime,
) -> None:
    """Replace what each source knew of a dataset's definitions (`found`: source, location, dataset name,
    definitions), keeping when each was first seen: one delete and one merge for them all.

    E-mail addresses and credentials written into the SQL (`WHERE email = 'ana@example.com'`) are
    redacted first: the store holds no data value, and lineage does not need literals.
    """
    if not found:
        return
    scope = ["source", "location", "dataset_name"]
    datasets = pd.DataFrame([(source, location, name) for source, location, name, _ in found], columns=scope)
    rows = pd.DataFrame(
        [
            [
                source,
                location,
                name,
                d.name,
                d.kind,
                d.dialect,
                redact(d.sql, limit=len(d.sql) + 1, literals=False),
                d.origin,
                collected_at,
            ]
            for source, location, name, definitions in found
            for d in definitions
        ],
        columns=[*scope, "name", "kind", "dialect", "sql", "origin", "last_seen_at"],
    ).drop_duplicates(subset=[*scope, "name"], keep="last")  # a merge takes one row per key
    con.register("definition_datasets", datasets)
    con.register("definition_rows", rows)
    try:
        gone = """(SELECT * FROM raw.definitions SEMI JOIN definition_datasets USING (source, location, dataset_name)
                   ANTI JOIN definition_rows USING (source, location, dataset_name, name))"""
        delete_matching(con, "raw.definitions", gone, " AND ".join(f"t.{k} = n.{k}" for k in [*scope, "name"]))
        if rows.empty:
            return
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
        con.unregister("definition_datasets")
        con.unregister("definition_rows")


def write_staging(
    con: duckdb.DuckDBPyConnection,
    found: list[tuple[str, str, str, StagingDatasetRecord]],
    collected_at: dt.datetime,
) -> None:
    """Replace what each source knew of a dataset's staging dataset (`found`: source, location, dataset
    name, staging): its name and the tables it holds."""
    rows = pd.DataFrame(
        [
            [source, location, dataset_name, staging.dataset_name, sorted(staging.tables), collected_at]
            for source, location, dataset_name, staging in found
        ],
        columns=["source", "location", "dataset_name", "staging_dataset", "tables", "collected_at"],
    )
    upsert(con, "raw.staging_datasets", rows, ["source", "location", "dataset_name"])


def write_load_packages(
    con: duckdb.DuckDBPyConnection,
    kept: list[tuple[str, str, list[LoadPackageRecord]]],
    collected_at: dt.datetime,
) -> None:
    """Replace the load packages each working folder in `kept` (source, dataset key, packages) keeps with
    those its latest collect listed: one delete and one insert for them all."""
    if not kept:
        return
    folders = pd.DataFrame([(source, key) for source, key, _ in kept], columns=["source", "dataset_key"])
    rows = pd.DataFrame(
        [
            [source, key, p.location, p.pipeline_name, p.dataset_name, p.load_id, p.state, p.path, sorted(p.tables)]
            for source, key, packages in kept
            for p in packages
        ],
        columns=[
            "source",
            "dataset_key",
            "location",
            "pipeline_name",
            "dataset_name",
            "load_id",
            "state",
            "path",
            "tables",
        ],
    ).assign(collected_at=collected_at)
    con.register("kept_folders", folders)
    con.register("kept_packages", rows)
    try:
        same_folder = "t.source = n.source AND t.dataset_key = n.dataset_key"
        delete_matching(con, "raw.load_packages", "kept_folders", same_folder)
        if not rows.empty:
            con.execute("INSERT INTO raw.load_packages BY NAME SELECT * FROM kept_packages")
    finally:
        con.unregister("kept_folders")
        con.unregister("kept_packages")


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
