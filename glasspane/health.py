"""Health definitions shared by the dashboard and the alerts: one implementation of each rule.

Late: see the `raw.health` macro in the store's views (factor × learned cadence, or `max_age`).

Volume anomaly (`glasspane.anomalies`, documented there and in the README's Health section):
each load's row count for a table is judged against comparable earlier loads of the same
pipeline and table: the same hour of the week or day of the week once the history has taught
that season (falling back to the plain `window_days` window when it has not), along the trend,
in log space; a load outside baseline ± max(z × noise, min_relative_change) is anomalous, and
named zero, drop, spike, double or flatline. A run of anomalous loads is one alert; after
`adopt_after` loads at a new level the baseline moves to it. People's marks ("expected",
"new normal", `volume_marks`) take effect here, so alerts, health and charts agree. The band
drawn on charts is exactly the band the rule judged by.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import duckdb
import pandas as pd

from glasspane.anomalies import DEFAULT_RULE, MAD_TO_SIGMA, AnomalyRule, score_series
from glasspane.queries.health import volume_loads

LATE_FACTOR = 2.0  # the Overview's factor; alert rules may set their own
SERIES = ["location", "dataset_name", "pipeline_name", "table_name"]
SCORED = ["baseline", "lower", "upper", "robust_z", "history", "season", "anomalous", "onset", "kind"]

__all__ = ["LATE_FACTOR", "MAD_TO_SIGMA", "AnomalyRule", "volume_scores"]


def volume_scores(
    con: duckdb.DuckDBPyConnection,
    rule: AnomalyRule = DEFAULT_RULE,
    pipelines: tuple[str, ...] = (),
    tables: tuple[str, ...] = (),
    locations: tuple[str, ...] = (),
    since: dt.datetime | None = None,
    series: Collection[tuple] | None = None,
    narrow: bool = False,
) -> pd.DataFrame:
    """Rows per load per table with the baseline, band, anomaly flag and kind, and any mark.

    Columns: location, dataset_name, pipeline_name, table_name, load_id, run_key, loaded_at,
    row_count, mark, marked_by, marked_at, then baseline, lower, upper, robust_z, history,
    season, anomalous, onset (the load starts an anomalous run: an alert) and kind.
    `since` limits the points returned, not the history they are scored against: the loads
    of the `month_days` before `since` are read too. `series`, (location, dataset_name, pipeline_name,
    table_name) tuples, limits the tables judged: judging a table's loads costs far more than reading them.
    `narrow`: within a write, see `volume_loads`.
    """
    history_start = since - dt.timedelta(days=max(rule.season_days, rule.month_days)) if since else None
    loads = volume_loads(con, pipelines, tables, locations, history_start, narrow)
    if loads.empty:
        return loads.assign(**{column: pd.Series(dtype=object) for column in SCORED})
    scored = []
    wanted = None if series is None else {_key(s) for s in series}
    for key, loads_of in loads.groupby(SERIES, sort=False):
        if since is not None and loads_of["loaded_at"].iloc[-1] < pd.Timestamp(since):
            continue  # no load to return: its history need not be judged
        if wanted is not None and _key(key) not in wanted:
            continue
        marks = {i: mark for i, mark in enumerate(loads_of["mark"]) if isinstance(mark, str)}
        verdicts = score_series(loads_of["loaded_at"], loads_of["row_count"], rule, marks)
        scored.append(verdicts.set_axis(loads_of.index))
    if not scored:
        return loads.iloc[0:0].assign(**{column: pd.Series(dtype=object) for column in SCORED})
    result = loads.join(pd.concat(scored), how="inner")  # the series judged
    if since is not None:
        result = result[result["loaded_at"] >= pd.Timestamp(since)]
    return result.reset_index(drop=True)


def _key(values: tuple) -> tuple:
    """A series key with pandas' missing values as None, comparable across frames."""
    return tuple(None if v is None or v != v else v for v in values)
