"""Pipelines across every location: one row each, with their last run and last success."""

from __future__ import annotations

import duckdb
import pandas as pd

from glasspane.queries.common import frame, scalar


def pipelines_overview(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every pipeline with its location, last run, status, rows and last success; failing first."""
    return frame(
        con,
        """SELECT pipeline_name, location, dataset_name, environment, last_status, last_run_at,
                  last_success_at, last_row_count, runs, failed_runs, last_error, source
           FROM pipelines
           ORDER BY last_status = 'completed', last_run_at DESC NULLS LAST, pipeline_name""",
    )


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
