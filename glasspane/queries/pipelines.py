"""Pipelines across every location: one row each, with their health, last run and last success."""

from __future__ import annotations

import duckdb
import pandas as pd

from glasspane.health import HEALTH_STATES
from glasspane.queries.common import frame, scalar


def pipelines_overview(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every pipeline with its health, location, last run, rows and recent row counts; failing, then late first."""
    return frame(
        con,
        """SELECT health, pipeline_name, location, dataset_name, environment, last_status, last_run_at,
                  last_success_at, last_row_count, recent_row_counts, cadence_s, runs, failed_runs,
                  last_error, last_failed_step, last_run_key, source
           FROM pipelines
           ORDER BY list_position(?::VARCHAR[], health), last_run_at DESC NULLS LAST, pipeline_name""",
        [list(HEALTH_STATES)],
    )


def health_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """How many pipelines are in each health state (every state present, zero when none)."""
    found = dict(con.execute("SELECT health, count(*) FROM pipelines GROUP BY health").fetchall())
    return {state: int(found.get(state, 0)) for state in HEALTH_STATES}


def store_totals(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Counts for the headline: runs, pipelines, locations, sources."""
    row = con.execute(
        """SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM pipelines),
                  (SELECT count(DISTINCT location) FROM pipelines), (SELECT count(*) FROM sources)"""
    ).fetchone()
    return dict(zip(("runs", "pipelines", "locations", "sources"), row or (0, 0, 0, 0), strict=True))


def is_empty(con: duckdb.DuckDBPyConnection) -> bool:
    """True when no collect has stored a run yet."""
    return not scalar(con, "SELECT EXISTS (SELECT 1 FROM raw.runs)")
