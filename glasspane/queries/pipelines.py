"""Pipelines across every location: one row each, with their health, last run and last success."""

from __future__ import annotations

import duckdb
import pandas as pd

from glasspane.pipeline_health import PIPELINE_KEY, health_order, pipeline_health
from glasspane.queries.common import frame, scalar


def pipelines_overview(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every pipeline with its health (the one model, `glasspane.pipeline_health`), location, last run, rows
    and recent row counts; failing, then late, then anomalous first."""
    pipelines = frame(
        con,
        """SELECT pipeline_name, location, dataset_name, environment, last_status, last_run_at,
                  last_success_at, last_row_count, recent_row_counts, cadence_s, runs, failed_runs,
                  last_error, last_failed_step, last_run_key, source
           FROM pipelines""",
    )
    health = pipeline_health(con)[[*PIPELINE_KEY, "health", "anomalous_tables"]]
    merged = health.merge(pipelines, on=PIPELINE_KEY, how="inner")
    merged = merged.assign(_order=health_order(merged["health"]))
    merged = merged.sort_values(
        ["_order", "last_run_at", "pipeline_name"], ascending=[True, False, True], na_position="last"
    )
    return merged.drop(columns="_order").reset_index(drop=True)


def store_totals(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Counts for the headline: runs, and locations (the rows of `locations`, counted without building them)."""
    row = con.execute(
        """SELECT (SELECT count(*) FROM runs),
                  (SELECT count(*) FROM (SELECT DISTINCT location FROM raw.location_members))"""
    ).fetchone()
    return dict(zip(("runs", "locations"), row or (0, 0), strict=True))


def is_empty(con: duckdb.DuckDBPyConnection) -> bool:
    """True when no collect has stored a run yet."""
    return not scalar(con, "SELECT EXISTS (SELECT 1 FROM raw.runs)")


def health_of(con: duckdb.DuckDBPyConnection, pipelines: tuple[str, ...]) -> pd.DataFrame:
    """These pipelines' health by the one model: name, dataset, location, health and anomalous tables."""
    health = pipeline_health(con, pipelines=pipelines)
    return health[[*PIPELINE_KEY, "health", "anomalous_tables"]].reset_index(drop=True)
