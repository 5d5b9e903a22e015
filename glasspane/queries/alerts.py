"""Alerts: what the rules read (pipeline health, newest schema versions) and the Alerts page's reads."""

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


def scope_locations(con: duckdb.DuckDBPyConnection, sources: tuple[str, ...]) -> list[str]:
    """The locations these sources read: where their runs or schema versions were seen."""
    rows = con.execute(
        """SELECT DISTINCT location FROM runs WHERE list_has_any(seen_by, ?::VARCHAR[])
           UNION SELECT DISTINCT location FROM schema_versions WHERE list_contains(?::VARCHAR[], source)
           ORDER BY 1""",
        [list(sources), list(sources)],
    ).fetchall()
    return [r[0] for r in rows]


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


def tables_pipelines_load(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str]]:
    """(location, dataset, pipeline, table) for each table a pipeline loads: those its loads reported row
    counts for (`pipeline_tables`), and those of the schemas its runs load, for pipelines whose row
    counts were never seen (no trace collected)."""
    return con.execute(
        """SELECT location, dataset_name, pipeline_name, table_name FROM pipeline_tables
           UNION
           SELECT r.location, r.dataset_name, r.pipeline_name, c.table_name
           FROM raw.pipeline_schemas r
           JOIN (SELECT DISTINCT location, dataset_name, schema_name, table_name FROM columns) c
               USING (location, dataset_name, schema_name)"""
    ).fetchall()


def newest_schema_versions(con: duckdb.DuckDBPyConnection, locations: tuple[str, ...] = ()) -> pd.DataFrame:
    """The newest stored version of each schema, with the pipelines that load it."""
    where = Where().any_of("v.location", locations)
    return frame(
        con,
        f"""WITH newest AS (
                SELECT * FROM schema_versions v {where.sql()}
                QUALIFY row_number() OVER (PARTITION BY location, dataset_name, schema_name
                                           ORDER BY version DESC NULLS LAST, inserted_at DESC NULLS LAST) = 1
            ),
            loaders AS (
                SELECT location, dataset_name, schema_name, list(DISTINCT pipeline_name ORDER BY pipeline_name)
                       AS pipelines
                FROM raw.pipeline_schemas GROUP BY ALL
            )
            SELECT n.location, n.dataset_name, n.schema_name, n.version, n.version_hash, n.inserted_at,
                   coalesce(l.pipelines, []) AS pipelines
            FROM newest n LEFT JOIN loaders l USING (location, dataset_name, schema_name)
            ORDER BY n.location, n.dataset_name, n.schema_name""",
        where.params,
    )


def pii_decisions_in(
    con: duckdb.DuckDBPyConnection, location: str, dataset_name: str
) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(table, column) → (decision, kind) for the PII decisions people made in one dataset."""
    rows = con.execute(
        """SELECT table_name, column_name, decision, pii_kind FROM pii_decisions
           WHERE location = ? AND dataset_name = ?""",
        [location, dataset_name],
    ).fetchall()
    return {(table, column): (decision, kind) for table, column, decision, kind in rows}


def has_version(
    con: duckdb.DuckDBPyConnection, location: str, dataset_name: str, schema_name: str, version_hash: str
) -> bool:
    """True when the store holds this version of a schema."""
    return bool(
        scalar(
            con,
            """SELECT EXISTS (SELECT 1 FROM schema_versions WHERE location = ? AND dataset_name = ?
                              AND schema_name = ? AND version_hash = ?)""",
            [location, dataset_name, schema_name, version_hash],
        )
    )


def alert_filter_options(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """The values each Alerts page filter can take."""
    return {
        "rule": distinct(con, "alerts", "rule_name"),
        "severity": distinct(con, "alerts", "severity"),
        "state": distinct(con, "alerts", "state"),
        "delivery": distinct(con, "alerts", "delivery"),
        "pipeline": distinct(con, "alerts", "pipeline_name"),
    }


def list_alerts(
    con: duckdb.DuckDBPyConnection,
    rules: tuple[str, ...] = (),
    severities: tuple[str, ...] = (),
    states: tuple[str, ...] = (),
    deliveries: tuple[str, ...] = (),
    pipelines: tuple[str, ...] = (),
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
        .any_of("pipeline_name", pipelines)
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
