"""What alerting keeps in the store: each rule's memory, the alerts raised, and how delivery went (read and
written here, beside the rules; the tables are the store's migrations)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import duckdb
import pandas as pd

from glasspane.alerts.model import (
    DELIVERED,
    FAILED,
    NOT_SENT,
    PENDING,
    Alert,
    DeliveryRecord,
    RuleMemory,
    SubjectState,
)
from glasspane.store.upsert import upsert

_ALERT_COLUMNS = [f.name for f in dataclasses.fields(Alert)]


def rule_memories(con: duckdb.DuckDBPyConnection, rule_names: list[str]) -> dict[str, RuleMemory]:
    """What earlier evaluations left for each rule: whether it ran before, and its subjects' states."""
    evaluated = {r[0] for r in con.execute("SELECT DISTINCT unnest(rules) FROM raw.alert_evaluations").fetchall()}
    memories = {name: RuleMemory(name, evaluated_before=name in evaluated) for name in rule_names}
    rows = con.execute(
        "SELECT rule_name, subject_key, status, since, fingerprint, last_notified_at, alert_id, notified "
        "FROM raw.alert_state WHERE list_contains(?::VARCHAR[], rule_name)",
        [rule_names],
    ).fetchall()
    for row in rows:
        state = SubjectState(*row)
        memories[state.rule_name].states[state.subject_key] = state
    return memories


def _alert_row(alert: Alert) -> dict[str, Any]:
    row = dataclasses.asdict(alert)
    row["facts"] = json.dumps([list(f) for f in alert.facts])
    return row


def record_evaluation(
    con: duckdb.DuckDBPyConnection,
    evaluation_id: str,
    evaluated_at: dt.datetime,
    rule_names: list[str],
    alerts: list[Alert],
    states: list[SubjectState],
    release: list[str],
    destination: str | None,
    errors: list[str],
) -> None:
    """Store one evaluation's alerts and subject states; held alerts whose interval ended become pending."""
    if alerts:
        con.register("new_alerts", pd.DataFrame([_alert_row(a) for a in alerts]))
        con.execute("INSERT INTO raw.alerts BY NAME SELECT * FROM new_alerts")
        con.unregister("new_alerts")
    if states:
        frame = pd.DataFrame([dataclasses.asdict(s) for s in states])
        upsert(con, "raw.alert_state", frame, ["rule_name", "subject_key"])
    if release:
        con.execute(
            "UPDATE raw.alerts SET delivery = ?, delivery_error = NULL WHERE list_contains(?::VARCHAR[], alert_id)",
            [PENDING, release],
        )
    con.execute(
        "INSERT INTO raw.alert_evaluations VALUES (?, ?, ?, ?, 0, 0, 0, ?, ?)",
        [evaluation_id, evaluated_at, rule_names, len(alerts), destination, errors],
    )


def outbox(con: duckdb.DuckDBPyConnection, failed_since: dt.datetime, claims_since: dt.datetime) -> list[Alert]:
    """Alerts to send: pending ones, and failed deliveries since `failed_since` still worth re-sending,
    leaving out those another evaluation claimed after `claims_since` (it is sending them)."""
    return _alerts(
        con,
        "(delivery = ? OR (delivery = ? AND redeliver AND alerted_at >= ?)) AND coalesce(claimed_at < ?, TRUE)",
        [PENDING, FAILED, failed_since, claims_since],
    )


def claim(con: duckdb.DuckDBPyConnection, alert_ids: list[str], now: dt.datetime) -> None:
    """Mark alerts as being sent, so that a concurrent evaluation does not send them too."""
    if alert_ids:
        con.execute(
            "UPDATE raw.alerts SET claimed_at = ? WHERE list_contains(?::VARCHAR[], alert_id)", [now, alert_ids]
        )


def stored_alerts(con: duckdb.DuckDBPyConnection, alert_ids: list[str]) -> list[Alert]:
    """These alerts, as stored."""
    return _alerts(con, "list_contains(?::VARCHAR[], alert_id)", [alert_ids])


def _alerts(con: duckdb.DuckDBPyConnection, where: str, params: list[Any]) -> list[Alert]:
    frame = con.execute(
        f"SELECT {', '.join(_ALERT_COLUMNS)} FROM raw.alerts WHERE {where} ORDER BY alerted_at, alert_id", params
    ).df()
    return [_alert(row) for row in frame.to_dict("records")]


def _alert(row: dict[str, Any]) -> Alert:
    clean = {k: (None if _missing(v) else v) for k, v in row.items()}
    clean["facts"] = tuple(tuple(f) for f in json.loads(clean["facts"] or "[]"))
    for key in ("alerted_at", "happened_at", "delivered_at"):
        if clean[key] is not None:
            clean[key] = clean[key].to_pydatetime()
    clean["attempts"] = int(clean["attempts"] or 0)
    return Alert(**clean)


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def record_deliveries(con: duckdb.DuckDBPyConnection, evaluation_id: str, records: list[DeliveryRecord]) -> None:
    """Store each message's outcome on its alerts and the totals on the evaluation."""
    for r in records:
        con.execute(
            """UPDATE raw.alerts SET delivery = ?, delivery_error = ?, delivered_at = ?,
                      attempts = attempts + ?, redeliver = ?, message_id = ?, claimed_at = NULL
               WHERE list_contains(?::VARCHAR[], alert_id)""",
            [
                DELIVERED if r.delivered else FAILED,
                r.error,
                r.at if r.delivered else None,
                r.attempts,
                r.redeliver and not r.delivered,
                r.message_id,
                list(r.alert_ids),
            ],
        )
    con.execute(
        "UPDATE raw.alert_evaluations SET messages = ?, delivered = ?, failed = ? WHERE evaluation_id = ?",
        [len(records), sum(r.delivered for r in records), sum(not r.delivered for r in records), evaluation_id],
    )


def mark_not_sent(con: duckdb.DuckDBPyConnection, alert_ids: list[str], reason: str) -> None:
    """Alerts that cannot be sent (no Slack destination configured), with the reason."""
    if alert_ids:
        con.execute(
            "UPDATE raw.alerts SET delivery = ?, delivery_error = ? WHERE list_contains(?::VARCHAR[], alert_id)",
            [NOT_SENT, reason, alert_ids],
        )
