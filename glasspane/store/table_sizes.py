"""Table size snapshots: one row per dataset per collect, and per data table per change of its size."""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb
import pandas as pd

from glasspane.records import TableSizeRecord


def write_table_sizes(
    con: duckdb.DuckDBPyConnection, source: str, sizes: list[TableSizeRecord], collected_at: dt.datetime
) -> None:
    """Record each dataset's size snapshot at `collected_at`; an unchanged size only moves its `last_seen_at`."""
    if not sizes:
        return
    frame = pd.DataFrame([{**dataclasses.asdict(s), "source": source} for s in sizes])
    frame["modified_at"] = pd.to_datetime(frame["modified_at"], utc=True)
    con.register("sizes", frame)
    try:
        con.execute(
            """CREATE OR REPLACE TEMP TABLE size_changes AS
               WITH latest AS (
                   SELECT * FROM raw.table_sizes
                   QUALIFY row_number() OVER (PARTITION BY source, location, dataset_name, table_name
                                              ORDER BY first_seen_at DESC) = 1
               )
               SELECT s.*, l.first_seen_at AS unchanged_since
               FROM sizes s
               LEFT JOIN latest l
                 ON l.source = s.source AND l.location = s.location AND l.dataset_name = s.dataset_name
                AND l.table_name = s.table_name AND l.num_rows IS NOT DISTINCT FROM s.num_rows
                AND l.num_bytes IS NOT DISTINCT FROM s.num_bytes
                AND l.modified_at IS NOT DISTINCT FROM s.modified_at"""
        )
        con.execute(
            """UPDATE raw.table_sizes t SET last_seen_at = ?
               FROM size_changes c
               WHERE c.unchanged_since IS NOT NULL AND t.source = c.source AND t.location = c.location
                 AND t.dataset_name = c.dataset_name AND t.table_name = c.table_name
                 AND t.first_seen_at = c.unchanged_since""",
            [collected_at],
        )
        con.execute(
            """INSERT INTO raw.table_sizes BY NAME
               SELECT source, location, dataset_name, table_name, num_rows, num_bytes, modified_at,
                      ?::TIMESTAMPTZ AS first_seen_at, ?::TIMESTAMPTZ AS last_seen_at
               FROM size_changes WHERE unchanged_since IS NULL""",
            [collected_at, collected_at],
        )
        con.execute(
            """INSERT INTO raw.table_size_snapshots BY NAME
               SELECT source, location, dataset_name, ?::TIMESTAMPTZ AS collected_at, count(*) AS tables
               FROM sizes GROUP BY ALL""",
            [collected_at],
        )
    finally:
        con.unregister("sizes")
