"""Writing what a collect read into the store: upsert observations, then re-merge the runs they touch."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import duckdb
import pandas as pd

from glasspane.records import (
    VIA_DLT_LOADS,
    VIA_FILE_FOOTER,
    VIA_LOAD_PACKAGE,
    VIA_TRACE,
    VIA_TRACE_TABLE,
    DatasetBatch,
)
from glasspane.store.governance import write_definitions, write_load_packages, write_staging
from glasspane.store.table_sizes import write_table_sizes

# Which observation of a run wins where sources disagree (lower is better evidence).
PRIORITY_SQL = f"""CASE via WHEN '{VIA_DLT_LOADS}' THEN 1 WHEN '{VIA_TRACE_TABLE}' THEN 2
    WHEN '{VIA_TRACE}' THEN 3 WHEN '{VIA_LOAD_PACKAGE}' THEN 4 WHEN '{VIA_FILE_FOOTER}' THEN 5 ELSE 9 END"""


# How the observations of one run (grouped by run_key, best evidence first by `prio`) merge into its row.
MERGED_RUN_COLUMNS = """
    arg_min(source, prio) AS source,
    arg_min(location, prio) AS location,
    arg_min(pipeline_name, prio) FILTER (WHERE pipeline_name IS NOT NULL) AS pipeline_name,
    arg_min(dataset_name, prio) FILTER (WHERE dataset_name IS NOT NULL) AS dataset_name,
    arg_min(schema_name, prio) FILTER (WHERE schema_name IS NOT NULL) AS schema_name,
    arg_min(load_id, prio) FILTER (WHERE load_id IS NOT NULL) AS load_id,
    arg_min(transaction_id, prio) FILTER (WHERE transaction_id IS NOT NULL) AS transaction_id,
    arg_min(destination_type, prio) FILTER (WHERE destination_type IS NOT NULL) AS destination_type,
    CASE WHEN bool_or(status = 'completed') THEN 'completed'
         WHEN bool_or(status = 'failed') THEN 'failed'
         ELSE arg_min(status, prio) END AS status,
    min(started_at) AS started_at,
    max(finished_at) AS finished_at,
    coalesce(min(started_at), max(finished_at)) AS ran_at,
    CASE WHEN NOT bool_or(status = 'completed')
         THEN arg_min(error, prio) FILTER (WHERE error IS NOT NULL) END AS error,
    CASE WHEN NOT bool_or(status = 'completed')
         THEN arg_min(failed_step, prio) FILTER (WHERE failed_step IS NOT NULL) END AS failed_step,
    arg_min(environment, prio) FILTER (WHERE environment IS NOT NULL) AS environment,
    arg_min(execution_context, prio) FILTER (WHERE execution_context IS NOT NULL) AS execution_context,
    bool_or(is_trace_upload) AS is_trace_upload,
    list(DISTINCT source ORDER BY source) AS seen_by
"""


@dataclasses.dataclass
class SourceOutcome:
    """How one source's collect went, for `raw.sources` and `raw.collect_log`."""

    source: str
    kind: str
    location: str
    started_at: dt.datetime
    finished_at: dt.datetime
    status: str  # 'ok' | 'error'
    errors: list[str]
    datasets: int
    new_runs: int = 0
    stats: dict[str, Any] = dataclasses.field(default_factory=dict)


def _upsert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    con.register("batch_rows", pd.DataFrame(rows))
    try:
        con.execute(f"INSERT OR REPLACE INTO {table} BY NAME SELECT * FROM batch_rows")
    finally:
        con.unregister("batch_rows")


def write_dataset(
    con: duckdb.DuckDBPyConnection,
    source: str,
    dataset_key: str,
    location: str,
    dataset_name: str | None,
    batch: DatasetBatch,
    collected_at: dt.datetime,
) -> int:
    """Store one dataset's batch and its cursor; return how many runs are new to the store."""
    con.execute(
        """INSERT INTO raw.datasets VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (source, dataset_key) DO UPDATE SET
             location = excluded.location, dataset_name = excluded.dataset_name,
             destination_type = coalesce(excluded.destination_type, raw.datasets.destination_type),
             last_seen_at = excluded.last_seen_at, cursor = excluded.cursor""",
        [source, dataset_key, location, dataset_name, batch.destination_type,
         collected_at, collected_at, json.dumps(batch.cursor, default=str)],
    )  # fmt: skip
    _upsert(
        con,
        "raw.run_observations",
        [{**dataclasses.asdict(r), "source": source, "collected_at": collected_at} for r in batch.runs],
    )
    _upsert(
        con,
        "raw.table_count_observations",
        [{**dataclasses.asdict(c), "source": source} for c in batch.table_counts],
    )
    _upsert(con, "raw.run_steps", [dataclasses.asdict(s) for s in batch.steps])
    versions = []
    columns = []
    for v in batch.schema_versions:
        key = {"source": source, "location": v.location, "dataset_name": v.dataset_name,
               "schema_name": v.schema_name, "version_hash": v.version_hash}  # fmt: skip
        versions.append({**key, "version": v.version, "engine_version": v.engine_version,
                         "inserted_at": v.inserted_at, "schema": v.schema})  # fmt: skip
        columns += [{**key, **dataclasses.asdict(c)} for c in v.columns]
    _upsert(con, "raw.schema_versions", versions)
    _upsert(con, "raw.schema_columns", columns)
    if batch.definitions is not None:
        write_definitions(con, source, location, dataset_name or dataset_key, batch.definitions, collected_at)
    if batch.staging is not None:
        write_staging(con, source, location, dataset_name or dataset_key, batch.staging, collected_at)
    if batch.load_packages is not None:
        write_load_packages(con, source, dataset_key, batch.load_packages, collected_at)
    write_table_sizes(con, source, batch.table_sizes, collected_at)

    touched = {r.run_key for r in batch.runs}
    counted = {(c.schema_name, c.load_id) for c in batch.table_counts}
    return _merge_runs(con, touched, counted)


def _merge_runs(con: duckdb.DuckDBPyConnection, run_keys: set[str], counted: set[tuple[str, str]]) -> int:
    """Rebuild the merged `raw.runs` and `raw.table_counts` rows for what a batch touched."""
    if not run_keys and not counted:
        return 0
    con.register("keys", pd.DataFrame({"run_key": sorted(run_keys)}, dtype="string"))
    con.register("loads", pd.DataFrame(sorted(counted), columns=["schema_name", "load_id"], dtype="string"))
    con.execute("CREATE OR REPLACE TEMP TABLE touched_loads AS SELECT * FROM loads")
    con.execute(
        """CREATE OR REPLACE TEMP TABLE touched AS
           SELECT run_key FROM keys
           UNION SELECT r.run_key FROM raw.runs r JOIN touched_loads USING (schema_name, load_id)
           UNION SELECT o.run_key FROM raw.run_observations o JOIN touched_loads USING (schema_name, load_id)"""
    )
    con.unregister("keys")
    con.unregister("loads")
    (new_runs,) = con.execute(
        """SELECT count(*) FROM (
               SELECT run_key FROM raw.run_observations
               WHERE run_key IN (SELECT run_key FROM touched)
                 AND run_key NOT IN (SELECT run_key FROM raw.runs)
               GROUP BY run_key HAVING NOT bool_or(is_trace_upload))"""
    ).fetchone()
    con.execute(
        f"""DELETE FROM raw.table_counts
        WHERE (schema_name, load_id) IN (SELECT (schema_name, load_id) FROM touched_loads);
        INSERT INTO raw.table_counts BY NAME
        SELECT schema_name, load_id, table_name,
               arg_min(source, {PRIORITY_SQL}) AS source,
               arg_min(location, {PRIORITY_SQL}) AS location,
               arg_min(dataset_name, {PRIORITY_SQL}) AS dataset_name,
               arg_min(row_count, {PRIORITY_SQL}) AS row_count
        FROM raw.table_count_observations
        WHERE (schema_name, load_id) IN (SELECT (schema_name, load_id) FROM touched_loads)
        GROUP BY ALL;

        DELETE FROM raw.runs WHERE run_key IN (SELECT run_key FROM touched);
        INSERT INTO raw.runs BY NAME
        WITH obs AS (
            SELECT *, {PRIORITY_SQL} AS prio FROM raw.run_observations
            WHERE run_key IN (SELECT run_key FROM touched)
        )
        SELECT run_key,
               {MERGED_RUN_COLUMNS}
        FROM obs GROUP BY run_key;

        UPDATE raw.runs SET row_count = counts.rows
        FROM (
            SELECT schema_name, load_id, sum(row_count) AS rows FROM table_counts
            WHERE (schema_name, load_id) IN (SELECT (schema_name, load_id) FROM raw.runs
                                             WHERE run_key IN (SELECT run_key FROM touched))
            GROUP BY ALL
        ) counts
        WHERE raw.runs.schema_name = counts.schema_name AND raw.runs.load_id = counts.load_id;

        UPDATE raw.runs SET location = a.location
        FROM raw.location_aliases_live a WHERE raw.runs.location = a.alias;"""
    )
    return new_runs


def write_outcome(con: duckdb.DuckDBPyConnection, collect_id: str, outcome: SourceOutcome) -> None:
    """Record a source's collect in `raw.collect_log` and its latest state in `raw.sources`."""
    ok = outcome.status == "ok"
    error = "; ".join(outcome.errors) if outcome.errors else None
    con.execute(
        "INSERT OR REPLACE INTO raw.collect_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [collect_id, outcome.source, outcome.started_at, outcome.finished_at, outcome.status,
         outcome.datasets, outcome.new_runs, outcome.errors, json.dumps(outcome.stats)],
    )  # fmt: skip
    con.execute(
        """INSERT INTO raw.sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
           ON CONFLICT (source) DO UPDATE SET
             kind = excluded.kind, location = excluded.location,
             last_collect_at = excluded.last_collect_at,
             last_success_at = coalesce(excluded.last_success_at, raw.sources.last_success_at),
             status = excluded.status, error = excluded.error, datasets = excluded.datasets""",
        [outcome.source, outcome.kind, outcome.location, outcome.finished_at, outcome.finished_at,
         outcome.finished_at if ok else None, outcome.status, error, outcome.datasets],
    )  # fmt: skip
    con.execute(
        "UPDATE raw.sources SET runs = (SELECT count(*) FROM runs WHERE source = ?) WHERE source = ?",
        [outcome.source, outcome.source],
    )
