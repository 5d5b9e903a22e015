"""The one health model: each pipeline's state, as the Overview, the Runs and Locations pages, the
Alerts page's "matches now", `alerts --dry-run` and the alert evaluation all see it.

A pipeline is in the first state that applies:
  failing     its newest run failed;
  late        no completed load for `factor` × its learned cadence, or for `max_age_s` (`raw.health`);
  anomalous   the newest load of one of its tables, loaded within the volume rule's window, is a
              volume anomaly (`health.volume_scores`);
  never_seen  no load of it has completed yet;
  healthy     otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import duckdb
import pandas as pd

from glasspane.health import LATE_FACTOR, AnomalyRule, volume_scores
from glasspane.queries.health import late_or_failing, stored_newest_anomalies

HEALTH_STATES = ("failing", "late", "anomalous", "never_seen", "healthy")
PIPELINE_KEY = ["location", "dataset_name", "pipeline_name"]
TABLE_KEY = [*PIPELINE_KEY, "table_name"]
DEFAULT_RULE = AnomalyRule()  # the Overview's; an alert rule may set its own


def newest_loads(
    con: duckdb.DuckDBPyConnection,
    rule: AnomalyRule = DEFAULT_RULE,
    pipelines: tuple[str, ...] = (),
    locations: tuple[str, ...] = (),
    now: dt.datetime | None = None,
    series: Collection[tuple] | None = None,
    narrow: bool = False,
) -> pd.DataFrame:
    """Each table's newest load within the rule's window (days before `now`), scored by the volume rule
    (only the tables in `series`, (location, dataset_name, pipeline_name, table_name) tuples, when given;
    `narrow` within a write, see `queries.health.volume_loads`)."""
    since = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=rule.window_days)
    scores = volume_scores(con, rule, pipelines, (), locations, since, series, narrow)
    return scores.groupby(TABLE_KEY, sort=False).tail(1).reset_index(drop=True)


def newest_anomalies(
    con: duckdb.DuckDBPyConnection,
    rule: AnomalyRule = DEFAULT_RULE,
    pipelines: tuple[str, ...] = (),
    locations: tuple[str, ...] = (),
) -> pd.DataFrame:
    """The tables whose newest load within the rule's window is a volume anomaly, with that load's scores.

    With the default rule they are read from the per-collect summary `raw.newest_loads`; a rule with
    its own settings scores the window now.
    """
    if rule != DEFAULT_RULE:
        loads = newest_loads(con, rule, pipelines, locations)
        return loads.loc[loads["anomalous"].astype(bool)].reset_index(drop=True)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=rule.window_days)
    return stored_newest_anomalies(con, since, pipelines, locations)


def pipeline_health(
    con: duckdb.DuckDBPyConnection,
    factor: float = LATE_FACTOR,
    max_age_s: float | None = None,
    rule: AnomalyRule = DEFAULT_RULE,
    pipelines: tuple[str, ...] = (),
    locations: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Every pipeline (in scope) with its health by the one model, its last run, and `anomalous_tables`:
    the tables whose newest load is a volume anomaly (empty for most pipelines)."""
    health = late_or_failing(con, factor, max_age_s, pipelines, locations)
    anomalies = newest_anomalies(con, rule, pipelines, locations)
    tables = anomalies.groupby(PIPELINE_KEY)["table_name"].agg(lambda names: sorted(set(names))).to_dict()
    found = pd.Series(  # a dict, not the grouped Series: a MultiIndex lookup per pipeline cost 0.1 s per 1,000
        [tables.get(key, []) for key in health[PIPELINE_KEY].itertuples(index=False, name=None)],
        index=health.index,
        dtype=object,
    )
    anomalous = (health["health"] == "healthy") & (found.map(len) > 0)
    return health.assign(health=health["health"].where(~anomalous, "anomalous"), anomalous_tables=found)


def count_by_health(health: pd.Series) -> dict[str, int]:
    """How many pipelines are in each health state (every state present, zero when none)."""
    found = health.value_counts()
    return {state: int(found.get(state, 0)) for state in HEALTH_STATES}


def health_order(health: pd.Series) -> pd.Series:
    """Each state's position in `HEALTH_STATES` (failing first), for sorting."""
    return health.map({state: i for i, state in enumerate(HEALTH_STATES)}).fillna(len(HEALTH_STATES))
