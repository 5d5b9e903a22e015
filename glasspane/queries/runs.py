"""Runs across every source: the list, its filters, and one run's details."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pandas as pd

from glasspane.queries.common import Where, distinct, frame, scalar
from glasspane.records import load_id_in

RUN_LIST_COLUMNS = (
    "run_key, started_at, finished_at, pipeline_name, status, row_count, source, location, dataset_name, "
    "environment, failed_step, error, load_id"
)


def filter_options(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """The values each runs filter can take: sources with runs and pipelines from their summaries."""
    sources = con.execute("SELECT source FROM sources WHERE runs > 0 ORDER BY 1").fetchall()
    return {
        "source": [r[0] for r in sources],
        "pipeline": distinct(con, "pipelines", "pipeline_name")["pipeline_name"],
        "status": distinct(con, "runs", "status")["status"],
    }


def _where(
    sources: tuple[str, ...],
    pipelines: tuple[str, ...],
    statuses: tuple[str, ...],
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> Where:
    where = Where()
    if sources:  # every run a source observed, or whose data lives where it reads: not only runs credited to it
        where.clauses.append(
            "(list_has_any(seen_by, ?::VARCHAR[]) OR location IN "
            "(SELECT location FROM raw.sources WHERE list_contains(?::VARCHAR[], source)))"
        )
        where.params += [list(sources), list(sources)]
    return (
        where.any_of("pipeline_name", pipelines)
        .any_of("status", statuses)
        .since("ran_at", since)
        .until("ran_at", until)
    )


def list_runs(
    con: duckdb.DuckDBPyConnection,
    sources: tuple[str, ...] = (),
    pipelines: tuple[str, ...] = (),
    statuses: tuple[str, ...] = (),
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 1000,
) -> tuple[pd.DataFrame, int]:
    """The newest runs matching the filters (at most `limit`), and how many match in all."""
    where = _where(sources, pipelines, statuses, since, until)
    total = int(scalar(con, f"SELECT count(*) FROM runs {where.sql()}", where.params) or 0)
    oldest = None  # the oldest run time shown, when more runs match than are shown
    if total > limit:  # sorting only run times is quick, and a constant bound lets DuckDB skip row groups
        oldest = scalar(
            con,
            f"""SELECT CASE WHEN count(ran_at) = ? THEN min(ran_at) END
                FROM (SELECT ran_at FROM runs {where.sql()} ORDER BY ran_at DESC NULLS LAST LIMIT ?)""",
            [limit, *where.params, limit],
        )
    shown = _where(sources, pipelines, statuses, since, until).since("ran_at", oldest)
    runs = frame(
        con,
        f"SELECT {RUN_LIST_COLUMNS} FROM runs {shown.sql()} ORDER BY ran_at DESC NULLS LAST, run_key DESC LIMIT ?",
        [*shown.params, limit],
    )
    return runs, total


_MONDAY = 4 * 86400  # 1970-01-05, seconds after the epoch


def run_timeline(
    con: duckdb.DuckDBPyConnection,
    bucket_s: int,
    sources: tuple[str, ...] = (),
    pipelines: tuple[str, ...] = (),
    statuses: tuple[str, ...] = (),
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> pd.DataFrame:
    """Runs per location, time bucket (`bucket_s` seconds wide) and status, for the timeline chart.

    Aggregated in the store, so the chart stays small however many runs match.
    """
    where = _where(sources, pipelines, statuses, since, until)
    where.clauses.append("ran_at IS NOT NULL")
    # Buckets by whole seconds since a Monday (1970-01-05): integer division is many times faster
    # than time_bucket on TIMESTAMPTZ, and weeks start on Mondays.
    return frame(
        con,
        f"""SELECT location, to_timestamp(n * ? + {_MONDAY}) AS bucket, status, runs, pipelines, row_count
            FROM (
                SELECT location, (epoch(ran_at)::BIGINT - {_MONDAY}) // ? AS n, status,
                       count(*) AS runs, count(DISTINCT pipeline_name) AS pipelines, sum(row_count) AS row_count
                FROM runs {where.sql()}
                GROUP BY ALL
            )
            ORDER BY location, bucket, status""",
        [bucket_s, bucket_s, *where.params],
    )


def run_detail(con: duckdb.DuckDBPyConnection, run_key: str) -> dict[str, Any] | None:
    """One run, its per-table row counts, its step timings and `seen_via` (how the sources saw it: `trace`,
    `trace_table`, `dlt_loads`, …); None if the store has no such run."""
    # by its key, and by the load id the key carries: DuckLake has no index, but skips the files and row
    # groups whose load ids cannot match
    load_id = load_id_in(run_key)
    by_key = "run_key = ?" + (" AND load_id = ?" if load_id else "")
    params = [run_key, load_id] if load_id else [run_key]
    runs = frame(con, f"SELECT * FROM raw.runs WHERE {by_key}", params)
    if runs.empty or runs.iloc[0]["is_trace_upload"]:  # the `runs` view leaves trace uploads out
        return None
    run = runs.iloc[0].to_dict()
    tables = frame(
        con,
        "SELECT table_name, row_count FROM table_counts WHERE schema_name = ? AND load_id = ? "
        "ORDER BY row_count DESC, table_name",
        [run["schema_name"], run["load_id"]],
    )
    steps = frame(
        con,
        "SELECT step, started_at, finished_at, duration_s, error FROM run_steps WHERE run_key = ? "
        "ORDER BY started_at NULLS LAST",
        [run_key],
    )
    seen = con.execute(f"SELECT DISTINCT via FROM raw.run_observations WHERE {by_key} ORDER BY via", params).fetchall()
    return {"run": run, "tables": tables, "steps": steps, "seen_via": [v for (v,) in seen]}
