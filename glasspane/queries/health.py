"""The health model's reads: each pipeline's state by the `raw.health` rule, the loads the volume rule
scores, and the summary of each table's newest load. The math is in `glasspane.health` and
`glasspane.pipeline_health`."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from glasspane.queries.common import Where, frame


def late_or_failing(
    con: duckdb.DuckDBPyConnection,
    factor: float,
    max_age_s: float | None,
    pipelines: tuple[str, ...] = (),
    locations: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Every pipeline's state by the `raw.health` rule with this factor or max age (failing, late, never_seen or
    healthy), and its last run. The one health model, `glasspane.pipeline_health`, adds volume anomalies."""
    where = Where().any_of("p.pipeline_name", pipelines).any_of("p.location", locations)
    return frame(
        con,
        f"""SELECT p.location, p.dataset_name, p.pipeline_name,
                   raw.health(p.last_status, p.last_success_at, p.cadence_s, ?, ?) AS health,
                   p.last_status, p.last_run_at, p.last_success_at, p.cadence_s, p.last_run_key,
                   p.environment, p.last_error AS error, p.last_failed_step AS failed_step,
                   p.last_started_at AS run_started_at, p.last_load_id AS load_id
            FROM raw.pipeline_stats p
            {where.sql()}
            ORDER BY p.pipeline_name, p.dataset_name, p.location""",
        [factor, max_age_s, *where.params],
    )


def volume_loads(
    con: duckdb.DuckDBPyConnection,
    pipelines: tuple[str, ...] = (),
    tables: tuple[str, ...] = (),
    locations: tuple[str, ...] = (),
    since: dt.datetime | None = None,
    narrow: bool = False,
) -> pd.DataFrame:
    """Each load's row count per table (since `since`), with any mark people set on it, in series order.

    Columns: location, dataset_name, pipeline_name, table_name, load_id, run_key, loaded_at, row_count,
    mark, marked_by, marked_at.
    `narrow`: look up the runs in scope first, and read the row counts by their lowest load id and their
    schemas, conditions DuckLake skips files and row groups by. A write that has added row counts needs
    it: there DuckLake cannot narrow the row counts by the join, and reads those of every pipeline (0.8 s
    at 1M runs, for one pipeline; 0.13 s narrowed). A read narrows them by the join itself.
    """
    scope = Where().any_of("r.pipeline_name", pipelines).any_of("r.location", locations).since("r.started_at", since)
    where = Where().any_of("t.table_name", tables)
    where.clauses += [*scope.clauses, "t.row_count IS NOT NULL"]
    where.params += scope.params
    if narrow:
        floor, schemas = con.execute(
            f"SELECT min(r.load_id), list(DISTINCT r.schema_name) FROM runs r {scope.sql()}", scope.params
        ).fetchone()
        where.any_of("t.schema_name", schemas)
        where.clauses.append("t.load_id >= ?")  # no run in scope: no floor, and no row
        where.params.append(floor)
    sql = f"""
        SELECT r.location, r.dataset_name, r.pipeline_name, t.table_name, t.load_id, r.run_key,
               r.started_at AS loaded_at, t.row_count, m.mark, m.marked_by, m.marked_at
        FROM table_counts t
        JOIN runs r ON r.schema_name = t.schema_name AND r.load_id = t.load_id
        LEFT JOIN volume_marks m ON m.location = r.location AND m.dataset_name = r.dataset_name
             AND m.pipeline_name = r.pipeline_name AND m.table_name = t.table_name AND m.load_id = t.load_id
        {where.sql()}
        ORDER BY r.location, r.dataset_name, r.pipeline_name, t.table_name, r.started_at
    """
    return con.execute(sql, where.params).df()


def stored_newest_anomalies(
    con: duckdb.DuckDBPyConnection, since: dt.datetime, pipelines: tuple[str, ...] = (), locations: tuple[str, ...] = ()
) -> pd.DataFrame:
    """The tables whose newest load since `since` the per-collect summary `raw.newest_loads` holds as anomalous."""
    where = Where().any_of("pipeline_name", pipelines).any_of("location", locations).since("loaded_at", since)
    where.clauses.append("anomalous")
    return frame(con, f"SELECT * FROM raw.newest_loads {where.sql()} ORDER BY ALL", where.params)
