"""Health definitions shared by the dashboard and the alerts: one implementation of each rule.

Late: see the `raw.health` macro in the store's views (factor × learned cadence, or `max_age`).

Volume anomaly: a load's row count for a table is anomalous when, against the loads of the
same pipeline and table in the preceding window (default 14 days, the point itself excluded),
  |count − median| > z × 1.4826 × MAD   (robust z-score above `z`, default 3), and
  |count − median| > min_relative_change × median   (default 20 %),
with at least `min_history` earlier loads in the window; a drop to zero is always anomalous
when the window holds any earlier load. The baseline band drawn on charts is exactly
median ± max(z × 1.4826 × MAD, min_relative_change × median): points outside it are anomalous.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from glasspane.queries.common import Where

LATE_FACTOR = 2.0  # the Overview's factor; alert rules may set their own
MAD_TO_SIGMA = 1.4826  # makes the MAD of normally distributed data comparable to a standard deviation


@dataclass(frozen=True)
class AnomalyRule:
    """The documented volume anomaly rule and its defaults."""

    window_days: int = 14
    z_threshold: float = 3.0
    min_relative_change: float = 0.2
    min_history: int = 5


def volume_scores(
    con: duckdb.DuckDBPyConnection,
    rule: AnomalyRule = AnomalyRule(),
    pipelines: tuple[str, ...] = (),
    tables: tuple[str, ...] = (),
    locations: tuple[str, ...] = (),
    since: dt.datetime | None = None,
) -> pd.DataFrame:
    """Rows per load per table with the rolling baseline, band and anomaly flag.

    `since` limits the points returned, not the history they are scored against: the window
    before `since` is read too.
    """
    history_start = since - dt.timedelta(days=rule.window_days) if since else None
    where = (
        Where()
        .any_of("r.pipeline_name", pipelines)
        .any_of("t.table_name", tables)
        .any_of("r.location", locations)
        .since("r.started_at", history_start)
    )
    sql = f"""
        WITH series AS (
            SELECT r.location, r.dataset_name, r.pipeline_name, t.table_name, t.load_id, r.run_key,
                   r.started_at AS loaded_at, t.row_count
            FROM table_counts t
            JOIN runs r ON r.schema_name = t.schema_name AND r.load_id = t.load_id
            {where.sql()}
        ),
        scored AS (
            SELECT *,
                   median(row_count) OVER w AS baseline,
                   mad(row_count) OVER w AS mad,
                   count(*) OVER w AS history
            FROM series
            WINDOW w AS (
                PARTITION BY location, dataset_name, pipeline_name, table_name ORDER BY loaded_at
                RANGE BETWEEN INTERVAL {int(rule.window_days)} DAYS PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING
            )
        )
        SELECT *,
               greatest(? * {MAD_TO_SIGMA} * mad, ? * baseline) AS tolerance,
               greatest(baseline - tolerance, 0) AS lower,
               baseline + tolerance AS upper,
               CASE WHEN mad > 0 THEN abs(row_count - baseline) / ({MAD_TO_SIGMA} * mad) END AS robust_z,
               coalesce(
                   (row_count = 0 AND history >= 1 AND baseline > 0)
                   OR (history >= ? AND abs(row_count - baseline) > tolerance),
                   FALSE
               ) AS anomalous
        FROM scored
        WHERE ? IS NULL OR loaded_at >= ?
        ORDER BY location, dataset_name, pipeline_name, table_name, loaded_at
    """
    params = [
        *where.params,
        rule.z_threshold,
        rule.min_relative_change,
        rule.min_history,
        since,
        since,
    ]
    return con.execute(sql, params).df()
