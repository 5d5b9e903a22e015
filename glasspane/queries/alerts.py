"""The Alerts page's reads: the alerts raised, their filters and detail, and the last evaluation.

What the alert rules read is beside them, in `glasspane.alerts.reads`."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import duckdb
import pandas as pd

from glasspane.queries.common import Where, distinct, frame, scalar

ALERT_LIST_COLUMNS = (
    "alerted_at, rule_name, rule, severity, state, subject, title, delivery, delivery_error, resolved_at, "
    "link, pipeline_name, dataset_name, location, table_name, alert_id, evaluation_id"
)


def alert_filter_options(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """The values each Alerts page filter can take."""
    filters = {"rule": "rule_name", "severity": "severity", "state": "state", "delivery": "delivery"}
    values = distinct(con, "alerts", *filters.values())
    return {name: values[column] for name, column in filters.items()}


def list_alerts(
    con: duckdb.DuckDBPyConnection,
    rules: tuple[str, ...] = (),
    severities: tuple[str, ...] = (),
    states: tuple[str, ...] = (),
    deliveries: tuple[str, ...] = (),
    evaluation: str | None = None,
    since: dt.datetime | None = None,
    limit: int = 500,
) -> tuple[pd.DataFrame, int]:
    """The newest alerts matching the filters (at most `limit`), and how many match in all."""
    where = (
        Where()
        .any_of("rule_name", rules)
        .any_of("severity", severities)
        .any_of("state", states)
        .any_of("delivery", deliveries)
        .equals("evaluation_id", evaluation)
        .since("alerted_at", since)
    )
    alerts = frame(
        con,
        f"SELECT {ALERT_LIST_COLUMNS} FROM alerts {where.sql()} ORDER BY alerted_at DESC, alert_id LIMIT ?",
        [*where.params, limit],
    )
    total = scalar(con, f"SELECT count(*) FROM alerts {where.sql()}", where.params)
    return alerts, int(total or 0)


def alert_detail(con: duckdb.DuckDBPyConnection, alert_id: str) -> dict[str, Any] | None:
    """One alert, its facts as (label, value) pairs; None when the store has no such alert."""
    found = frame(con, "SELECT * FROM alerts WHERE alert_id = ?", [alert_id])
    if found.empty:
        return None
    alert = found.iloc[0].to_dict()
    alert["facts"] = [tuple(fact) for fact in json.loads(alert["facts"] or "[]")]
    return alert


def last_evaluation(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The newest evaluation: when, how many alerts and messages, delivered and failed."""
    found = frame(con, "SELECT * FROM raw.alert_evaluations ORDER BY evaluated_at DESC LIMIT 1")
    return None if found.empty else found.iloc[0].to_dict()
