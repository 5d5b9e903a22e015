"""Summaries the store derives from what was collected, rebuilt once per collect.

Pages read these small tables instead of aggregating every run, row count or schema column on
each view: where a pipeline working folder's runs really load (`raw.location_aliases`), the
newest columns of every schema (`raw.latest_columns`, behind the `columns` view), column names
that look personal (`raw.suspected_names`), each pipeline's health figures and newest run
(`raw.pipeline_stats`), the tables it loads (`raw.pipeline_tables`) and the schemas its runs load
(`raw.pipeline_schemas`).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from glasspane.pii import suspect

RECENT_LOADS = 30  # row counts kept per pipeline for sparklines
CADENCE_LOADS = 20  # completed loads whose gaps teach a pipeline's cadence


def refresh(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild every summary from the merged runs, row counts and stored schemas."""
    con.execute(
        """DELETE FROM raw.location_aliases;
        INSERT INTO raw.location_aliases BY NAME SELECT alias, location FROM raw.location_aliases_live;
        DELETE FROM raw.latest_columns;
        INSERT INTO raw.latest_columns BY NAME SELECT * FROM raw.columns_live;"""
    )
    _refresh_suspected_names(con)
    _refresh_pipelines(con)


def _refresh_suspected_names(con: duckdb.DuckDBPyConnection) -> None:
    names = con.execute(
        """SELECT DISTINCT table_name, column_name FROM raw.latest_columns
           WHERE NOT pii AND NOT starts_with(column_name, '_dlt_')"""
    ).fetchall()
    rows = [
        (table, column, found.kind, found.reason)
        for table, column in names
        if (found := suspect(column, table)) is not None
    ]
    con.execute("DELETE FROM raw.suspected_names")
    if rows:
        suspected = pd.DataFrame(rows, columns=["table_name", "column_name", "suspected_kind", "reason"])
        con.register("suspected_rows", suspected)
        try:
            con.execute("INSERT INTO raw.suspected_names BY NAME SELECT * FROM suspected_rows")
        finally:
            con.unregister("suspected_rows")


def _refresh_pipelines(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"""DELETE FROM raw.pipeline_stats;
        INSERT INTO raw.pipeline_stats BY NAME
        WITH r AS (
            SELECT *, coalesce(finished_at, started_at) AS ts FROM runs
            WHERE pipeline_name IS NOT NULL AND dataset_name IS NOT NULL
        ),
        ranked AS (
            SELECT *, row_number() OVER (PARTITION BY location, dataset_name, pipeline_name
                                         ORDER BY ts DESC NULLS LAST, run_key DESC) AS recency
            FROM r
        ),
        completed AS (
            SELECT location, dataset_name, pipeline_name, ts, row_count,
                   row_number() OVER (PARTITION BY location, dataset_name, pipeline_name ORDER BY ts DESC) AS k
            FROM r WHERE status = 'completed' AND ts IS NOT NULL
        ),
        recent AS (
            SELECT location, dataset_name, pipeline_name,
                   list(row_count ORDER BY ts) FILTER (WHERE k <= {RECENT_LOADS}) AS recent_row_counts
            FROM completed GROUP BY ALL
        ),
        gaps AS (  -- after_day: the weekday of the load the gap follows; newest_day: of the newest load
            SELECT location, dataset_name, pipeline_name, epoch(ts) - epoch(lead(ts) OVER w) AS gap,
                   dayofweek(lead(ts) OVER w) AS after_day, dayofweek(first(ts) OVER w) AS newest_day, k
            FROM completed WHERE k <= {CADENCE_LOADS + 1}
            WINDOW w AS (PARTITION BY location, dataset_name, pipeline_name ORDER BY ts DESC)
        ),
        cadence AS (  -- the gap to expect after the newest load: weekends skipped are learned
            SELECT location, dataset_name, pipeline_name,
                   greatest(median(gap), CASE WHEN count(*) FILTER (WHERE after_day = newest_day) >= 2
                                              THEN median(gap) FILTER (WHERE after_day = newest_day) END) AS cadence_s
            FROM gaps WHERE gap IS NOT NULL AND gap > 0 GROUP BY ALL
        ),
        summary AS (
            SELECT location, dataset_name, pipeline_name,
                   any_value(source) FILTER (WHERE recency = 1) AS source,
                   any_value(status) FILTER (WHERE recency = 1) AS last_status,
                   max(ts) AS last_run_at,
                   max(ts) FILTER (WHERE status = 'completed') AS last_success_at,
                   any_value(row_count) FILTER (WHERE recency = 1) AS last_row_count,
                   any_value(error) FILTER (WHERE recency = 1) AS last_error,
                   any_value(failed_step) FILTER (WHERE recency = 1) AS last_failed_step,
                   any_value(run_key) FILTER (WHERE recency = 1) AS last_run_key,
                   any_value(started_at) FILTER (WHERE recency = 1) AS last_started_at,
                   any_value(load_id) FILTER (WHERE recency = 1) AS last_load_id,
                   any_value(environment) FILTER (WHERE recency = 1) AS environment,
                   any_value(destination_type) FILTER (WHERE recency = 1) AS destination_type,
                   count(*) AS runs,
                   count(*) FILTER (WHERE status = 'failed') AS failed_runs
            FROM ranked GROUP BY ALL
        )
        SELECT * FROM summary
        LEFT JOIN cadence USING (location, dataset_name, pipeline_name)
        LEFT JOIN recent USING (location, dataset_name, pipeline_name)"""
    )
    con.execute(
        """DELETE FROM raw.pipeline_tables;
        INSERT INTO raw.pipeline_tables BY NAME
        SELECT r.location, r.dataset_name, r.pipeline_name, t.table_name, count(*) AS loads,
               max(r.started_at) AS last_loaded_at, arg_max(t.row_count, r.started_at) AS last_row_count
        FROM table_counts t
        JOIN runs r ON r.schema_name = t.schema_name AND r.load_id = t.load_id
        WHERE r.pipeline_name IS NOT NULL AND r.dataset_name IS NOT NULL
        GROUP BY ALL;
        DELETE FROM raw.pipeline_schemas;
        INSERT INTO raw.pipeline_schemas BY NAME
        SELECT DISTINCT location, dataset_name, pipeline_name, schema_name FROM runs
        WHERE pipeline_name IS NOT NULL AND dataset_name IS NOT NULL AND schema_name IS NOT NULL"""
    )
