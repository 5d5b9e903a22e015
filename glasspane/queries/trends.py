"""Row-count trends: which tables each pipeline loads, and one table's rows per load, scored."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from glasspane.health import AnomalyRule, volume_scores
from glasspane.queries.common import Where, frame


def trend_tables(con: duckdb.DuckDBPyConnection, pipelines: tuple[str, ...] = ()) -> pd.DataFrame:
    """The tables each pipeline loads (with loads and newest count), biggest first, from `pipeline_tables`."""
    where = Where().any_of("pipeline_name", pipelines)
    return frame(
        con,
        f"""SELECT pipeline_name, table_name, location, dataset_name, loads, last_loaded_at, last_row_count
            FROM pipeline_tables {where.sql()}
            ORDER BY pipeline_name, last_row_count DESC NULLS LAST, table_name, location""",
        where.params,
    )


def trend_pipelines(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every pipeline that has row counts per table, sorted."""
    rows = con.execute("SELECT DISTINCT pipeline_name FROM pipeline_tables ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def volume_trend(
    con: duckdb.DuckDBPyConnection,
    pipeline_name: str,
    table_name: str,
    location: str | None = None,
    since: dt.datetime | None = None,
    window_days: int = AnomalyRule.window_days,
) -> pd.DataFrame:
    """Rows per load of one pipeline's table, with the rolling baseline, band and anomaly flag
    (the documented volume rule, `glasspane.health`), oldest first."""
    rule = AnomalyRule(window_days=window_days)
    locations = (location,) if location else ()
    return volume_scores(con, rule, pipelines=(pipeline_name,), tables=(table_name,), locations=locations, since=since)
