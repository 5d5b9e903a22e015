"""Writing what a collect read into the store, set by set.

A collect hands its datasets' batches to a `Pending` write; when it holds enough records (or the
collect ends) one transaction writes them all: a handful of statements per table, whatever the
number of datasets. Observations are upserted by key (rows a batch already knows are replaced, new
ones appended), the merged runs and row counts are rebuilt for the keys the write touched only,
and so are the summaries of the pipelines and schemas it touched. Each dataset's cursor commits
with its records, so a writer killed at any moment leaves a store the next collect completes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

import duckdb
import pandas as pd

from glasspane.records import (
    VIA_DLT_LOADS,
    VIA_FILE_FOOTER,
    VIA_LOAD_PACKAGE,
    VIA_TRACE,
    VIA_TRACE_TABLE,
    RunRecord,
    StepRecord,
    TableCountRecord,
)
from glasspane.store import string_list, summaries
from glasspane.store.governance import write_definitions, write_load_packages, write_staging
from glasspane.store.pending import Pending, SourceOutcome, mark_failure
from glasspane.store.table_sizes import write_table_sizes
from glasspane.store.upsert import load_floor, replace_keys, same_keys, upsert

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

_RUN_FIELDS = [f.name for f in dataclasses.fields(RunRecord)]
_COUNT_FIELDS = [f.name for f in dataclasses.fields(TableCountRecord)]
_STEP_FIELDS = [f.name for f in dataclasses.fields(StepRecord)]
_VERSION_KEY = ["source", "location", "dataset_name", "schema_name", "version_hash"]


def _locations_with_definitions(con: duckdb.DuckDBPyConnection, changed: set[str]) -> set[str]:
    """Of the locations whose definitions or schemas changed, those with lineage to derive: with a view or
    model now, or traced before (its lineage must go). Lineage never crosses a location."""
    if not changed:
        return set()
    wanted = string_list(sorted(changed))
    return {
        location
        for (location,) in con.execute(
            f"""SELECT location FROM raw.definitions WHERE list_contains({wanted}, location)
                UNION SELECT location FROM raw.definition_status WHERE list_contains({wanted}, location)"""
        ).fetchall()
    }


def _frame(records: Iterable[Any], fields: list[str], extra: dict[str, list[Any]] | None = None) -> pd.DataFrame:
    rows = list(records)
    data: dict[str, list[Any]] = {f: [getattr(r, f) for r in rows] for f in fields}
    data.update(extra or {})
    return _columns_frame(data)


def _rows_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """`_columns_frame` of rows that share their keys."""
    return _columns_frame({key: [row[key] for row in rows] for key in rows[0]})


def _columns_frame(data: dict[str, list[Any]]) -> pd.DataFrame:
    """A frame of these columns whose text columns hold Python strings: pandas 3 would copy each into Arrow
    buffers, which DuckDB reads no faster and whose allocator keeps the memory after the write (a full
    collect of 200 datasets × 50 loads peaked 17 MiB higher, one of 500 loads each 24 MiB)."""
    return pd.DataFrame(
        {
            name: pd.Series(values, dtype=object)
            if isinstance(next((v for v in values if v is not None), None), str)
            else values
            for name, values in data.items()
        }
    )


def write_pending(
    con: duckdb.DuckDBPyConnection,
    pending: Pending,
    collect_id: str,
    credited: Mapping[str, int],
    failures: dict[str, str],
) -> dict[str, int]:
    """Write what is pending in the transaction `con` holds; return the runs new to the store per source.

    Outcomes are written with the new runs `credited` to their source by earlier writes of the
    collect, and marked failed where `failures` says the store refused the source's records.
    """
    at = pending.collected_at
    con.execute(
        """CREATE OR REPLACE TEMP TABLE touched_pipelines (location TEXT, dataset_name TEXT, pipeline_name TEXT);
        CREATE OR REPLACE TEMP TABLE alias_changes (alias TEXT, location TEXT);"""
    )
    if pending.datasets:
        _write_datasets(con, pending.datasets, at)
    upsert(
        con,
        "raw.run_observations",
        _frame(
            (r for _, r in pending.runs),
            _RUN_FIELDS,
            {"source": [s for s, _ in pending.runs], "collected_at": [at] * len(pending.runs)},
        ),
        ["source", "run_key", "via"],
        by_load=True,
    )
    upsert(
        con,
        "raw.table_count_observations",
        _frame((c for _, c in pending.counts), _COUNT_FIELDS, {"source": [s for s, _ in pending.counts]}),
        ["source", "schema_name", "load_id", "table_name", "via"],
        by_load=True,
    )
    upsert(con, "raw.run_steps", _frame(pending.steps, _STEP_FIELDS), ["run_key", "step"])
    touched_schemas = _write_schema_versions(con, pending.versions, pending.columns)
    write_definitions(con, pending.definitions, at)
    write_staging(con, pending.staging, at)
    write_load_packages(con, pending.packages, at)
    for source, sizes in pending.sizes:
        write_table_sizes(con, source, sizes, at)

    loads = {(c.schema_name, c.load_id) for _, c in pending.counts}
    new_runs = _merge_runs(con, {(r.run_key, r.load_id) for _, r in pending.runs}, loads)
    summaries.refresh_touched(con, touched_schemas)
    traced = _locations_with_definitions(
        con, {loc for _, loc, _, _ in pending.definitions} | {t[0] for t in touched_schemas}
    )
    if traced:
        from glasspane.store.lineage import refresh_lineage  # sqlglot: only when what lineage reads changed

        refresh_lineage(con, traced)
    for outcome in pending.outcomes:
        written = dataclasses.replace(outcome, errors=list(outcome.errors))
        mark_failure(written, failures)
        written.new_runs = credited.get(outcome.source, 0) + new_runs.get(outcome.source, 0)
        write_outcome(con, collect_id, written)
    return new_runs


def _write_schema_versions(
    con: duckdb.DuckDBPyConnection, versions: list[dict[str, Any]], columns: list[dict[str, Any]]
) -> set[tuple[str, str, str]]:
    """Store the schema versions new to the store, with their columns; return the schemas (location, dataset
    name, schema name) whose versions changed.

    A version is what its hash says: one the store holds keeps its columns and the time it was first seen,
    unless this write saw it earlier. Every new load package of a working folder carries its schema again:
    stored again, the version took the newest package's time (and so did the first-seen time of the
    columns it added), and its columns were deleted and written again in each collect."""
    if not versions:
        return set()
    keys = ", ".join(_VERSION_KEY)
    found = _rows_frame(versions).sort_values("inserted_at").drop_duplicates(_VERSION_KEY)  # the earliest sight
    con.register("version_rows", found)
    try:
        con.execute(  # keys and times only: the versions' documents are not copied
            f"""CREATE OR REPLACE TEMP TABLE changed_versions AS
            SELECT {", ".join(f"n.{k}" for k in _VERSION_KEY)}, t.stored IS NOT NULL AS was_stored
            FROM version_rows n
            LEFT JOIN (SELECT {keys}, inserted_at, true AS stored FROM raw.schema_versions) t
                 ON {same_keys("t", "n", _VERSION_KEY)}
            WHERE t.stored IS NULL OR n.inserted_at < t.inserted_at
               OR t.inserted_at IS NULL AND n.inserted_at IS NOT NULL"""
        )
        changed = con.execute("SELECT DISTINCT location, dataset_name, schema_name FROM changed_versions").fetchall()
        if changed:
            rows = f"(SELECT * FROM version_rows v SEMI JOIN changed_versions n ON {same_keys('v', 'n', _VERSION_KEY)})"
            replace_keys(con, "raw.schema_versions", rows, _VERSION_KEY)
    finally:
        con.unregister("version_rows")
    if changed and columns:
        con.register("column_rows", _rows_frame(columns).drop_duplicates([*_VERSION_KEY, "table_name", "column_name"]))
        try:
            rows = f"""(SELECT * FROM column_rows c
                        SEMI JOIN changed_versions n ON NOT n.was_stored AND {same_keys("c", "n", _VERSION_KEY)})"""
            replace_keys(con, "raw.schema_columns", rows, [*_VERSION_KEY, "table_name", "column_name"])
        finally:
            con.unregister("column_rows")
    return set(changed)


def _write_datasets(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], at: dt.datetime) -> None:
    frame = pd.DataFrame(rows)
    frame["collected_at"] = at
    con.register("dataset_rows", frame)
    try:
        con.execute(
            """MERGE INTO raw.datasets d USING dataset_rows n
               ON d.source = n.source AND d.dataset_key = n.dataset_key
               WHEN MATCHED THEN UPDATE SET
                 location = n.location, dataset_name = n.dataset_name,
                 destination_type = coalesce(n.destination_type, d.destination_type),
                 last_seen_at = n.collected_at, cursor = n.cursor
               WHEN NOT MATCHED THEN INSERT (source, dataset_key, location, dataset_name, destination_type,
                                            first_seen_at, last_seen_at, cursor)
                 VALUES (n.source, n.dataset_key, n.location, n.dataset_name, n.destination_type,
                         n.collected_at, n.collected_at, n.cursor)"""
        )
    finally:
        con.unregister("dataset_rows")


def _merge_counts(con: duckdb.DuckDBPyConnection, floor: str) -> None:
    """Rebuild the merged `raw.table_counts` rows of the touched loads from every source's observations
    (`floor`: the touched loads' `load_floor`)."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE merged_counts AS
        SELECT schema_name, load_id, table_name,
               arg_min(source, {PRIORITY_SQL}) AS source,
               arg_min(location, {PRIORITY_SQL}) AS location,
               arg_min(dataset_name, {PRIORITY_SQL}) AS dataset_name,
               arg_min(row_count, {PRIORITY_SQL}) AS row_count
        FROM raw.table_count_observations t SEMI JOIN touched_loads l
             ON t.schema_name = l.schema_name AND t.load_id = l.load_id {floor}
        GROUP BY ALL"""
    )
    replace_keys(con, "raw.table_counts", "merged_counts", ["schema_name", "load_id", "table_name"], floor)


def _merge_runs(
    con: duckdb.DuckDBPyConnection, runs: set[tuple[str, str | None]], counted: set[tuple[str, str]]
) -> dict[str, int]:
    """Rebuild the merged `raw.runs` and `raw.table_counts` rows for what a write touched (the `runs` by key
    and load id, the `counted` loads); return the runs new to the store per source (credited to the
    source with the best evidence). Leaves the temp tables `merged` (the runs as merged) and `new_runs`
    (the keys of those new to the store) for the summaries."""
    if not runs and not counted:
        return {}
    text = pd.StringDtype("python")  # text even when empty, in Python strings (see `_columns_frame`)
    con.register("keys", pd.DataFrame(sorted(runs, key=str), columns=["run_key", "load_id"], dtype=text))
    con.register("loads", pd.DataFrame(sorted(counted), columns=["schema_name", "load_id"], dtype=text))
    con.execute("CREATE OR REPLACE TEMP TABLE touched_loads AS SELECT * FROM loads")
    counts_floor = load_floor(con, "touched_loads")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE touched AS
           SELECT run_key, load_id FROM keys
           UNION SELECT t.run_key, t.load_id FROM raw.runs t SEMI JOIN touched_loads l
                 ON t.schema_name = l.schema_name AND t.load_id = l.load_id {counts_floor}
           UNION SELECT t.run_key, t.load_id FROM raw.run_observations t SEMI JOIN touched_loads l
                 ON t.schema_name = l.schema_name AND t.load_id = l.load_id {counts_floor}"""
    )
    con.unregister("keys")
    con.unregister("loads")
    if counted:
        _merge_counts(con, counts_floor)
    floor = load_floor(con, "touched")  # a run's key carries its load id
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE merged AS
        WITH obs AS (
            SELECT *, {PRIORITY_SQL} AS prio FROM raw.run_observations t
            SEMI JOIN touched n ON t.run_key = n.run_key {floor}
        ),
        runs AS (SELECT run_key, {MERGED_RUN_COLUMNS} FROM obs GROUP BY run_key),
        counts AS (
            SELECT c.schema_name, c.load_id, sum(c.row_count) AS row_count
            FROM table_counts c SEMI JOIN runs r ON c.schema_name = r.schema_name AND c.load_id = r.load_id
            GROUP BY ALL
        )
        SELECT r.* REPLACE (coalesce(a.location, r.location) AS location), c.row_count
        FROM runs r
        LEFT JOIN counts c ON c.schema_name = r.schema_name AND c.load_id = r.load_id
        LEFT JOIN raw.location_aliases a ON a.alias = r.location"""
    )
    con.execute(  # the merged runs as the store holds them (read once), and the keys of those it does not
        f"""CREATE OR REPLACE TEMP TABLE stored_runs AS
        SELECT run_key, location, dataset_name, pipeline_name FROM raw.runs t SEMI JOIN merged USING (run_key)
        WHERE true {floor};
        CREATE OR REPLACE TEMP TABLE new_runs AS SELECT run_key FROM merged ANTI JOIN stored_runs USING (run_key)"""
    )
    new = dict(
        con.execute(
            """SELECT source, count(*) FROM merged SEMI JOIN new_runs USING (run_key)
               WHERE NOT is_trace_upload GROUP BY source"""
        ).fetchall()
    )
    con.execute(  # the pipelines of the runs as they were, and as they are now
        """INSERT INTO touched_pipelines
           SELECT DISTINCT location, dataset_name, pipeline_name FROM stored_runs
           UNION SELECT DISTINCT location, dataset_name, pipeline_name FROM merged"""
    )
    replace_keys(con, "raw.runs", "merged", ["run_key"], floor)
    summaries.refresh_aliases(con, floor)
    return new


def write_outcome(con: duckdb.DuckDBPyConnection, collect_id: str, outcome: SourceOutcome) -> None:
    """Record a source's collect in `raw.collect_log` and its latest state in `raw.sources`."""
    ok = outcome.status == "ok"
    error = "; ".join(outcome.errors) if outcome.errors else None
    con.execute(
        "INSERT INTO raw.collect_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            collect_id,
            outcome.source,
            outcome.started_at,
            outcome.finished_at,
            outcome.status,
            outcome.datasets,
            outcome.new_runs,
            outcome.errors,
            json.dumps(outcome.stats),
        ],
    )
    con.execute(
        """MERGE INTO raw.sources s
           USING (SELECT ? AS source, ? AS kind, ? AS location, ?::TIMESTAMPTZ AS at, ?::TIMESTAMPTZ AS success,
                         ? AS status, ? AS error, ?::INTEGER AS datasets,
                         (SELECT count(*) FROM raw.runs WHERE source = ? AND NOT is_trace_upload) AS runs) n
           ON s.source = n.source
           WHEN MATCHED THEN UPDATE SET kind = n.kind, location = n.location, last_collect_at = n.at,
                last_success_at = coalesce(n.success, s.last_success_at), status = n.status, error = n.error,
                datasets = n.datasets, runs = n.runs
           WHEN NOT MATCHED THEN INSERT (source, kind, location, first_collect_at, last_collect_at, last_success_at,
                                         status, error, datasets, runs)
                VALUES (n.source, n.kind, n.location, n.at, n.at, n.success, n.status, n.error, n.datasets, n.runs)""",
        [
            outcome.source,
            outcome.kind,
            outcome.location,
            outcome.finished_at,
            outcome.finished_at if ok else None,
            outcome.status,
            error,
            outcome.datasets,
            outcome.source,
        ],
    )
