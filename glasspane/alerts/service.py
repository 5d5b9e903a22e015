"""One evaluation end to end: evaluate the rules, decide, record, send, record how sending went.

Deciding and recording happen in one store write, so two evaluations never announce the same
change twice; sending happens outside it, so a slow Slack never holds the store's write lock.
A rule that cannot be evaluated is reported and the other rules still run.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

import duckdb

from glasspane.alerts.alert_log import (
    claim,
    mark_not_sent,
    outbox,
    record_deliveries,
    record_evaluation,
    rule_memories,
    stored_alerts,
)
from glasspane.alerts.messages import Message, plan_messages
from glasspane.alerts.model import PENDING, Alert, DeliveryRecord, SubjectState
from glasspane.alerts.rule_config import AlertConfig
from glasspane.alerts.rules import evaluate_rule, shared_reads
from glasspane.alerts.slack import SlackDestination, SlackSender
from glasspane.alerts.state import decide
from glasspane.dlt_meta import redact_line
from glasspane.store import Store

CLAIM_MARGIN_S = 60  # a claim outlives the sending it covers by this much (a crashed sender's alerts are sent later)
NO_DESTINATION = (
    "no Slack destination configured: set RUNTIME__SLACK_INCOMING_HOOK, or [alerts] slack_webhook in .dlt/secrets.toml"
)


@dataclass
class EvaluationReport:
    """What one evaluation found, decided and sent."""

    evaluation_id: str
    rules: int
    alerts: list[Alert] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    deliveries: list[DeliveryRecord] = field(default_factory=list)
    destination: str | None = None
    errors: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        """True when every rule ran and every message was delivered."""
        return not self.errors and all(d.delivered for d in self.deliveries)


@dataclass
class _Plan:
    alerts: list[Alert] = field(default_factory=list)
    states: list[SubjectState] = field(default_factory=list)
    release: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _plan(con: duckdb.DuckDBPyConnection, config: AlertConfig, now: dt.datetime, evaluation_id: str) -> _Plan:
    plan = _Plan()
    memories = rule_memories(con, [r.name for r in config.rules])
    with shared_reads():
        for rule in config.rules:
            memory = memories[rule.name]
            try:
                result = evaluate_rule(con, rule, memory, config.settings.dashboard_url)
            except Exception as ex:  # one broken rule never hides the others
                plan.errors.append(redact_line(f"rule '{rule.name}': {type(ex).__name__}: {ex}"))
                continue
            decision = decide(rule, result, memory, now, evaluation_id)
            plan.alerts += decision.alerts
            plan.states += decision.states
            plan.release += decision.release
    return plan


def evaluate(
    store: Store,
    config: AlertConfig,
    destination: SlackDestination | None,
    dry_run: bool = False,
) -> EvaluationReport:
    """Evaluate every rule over the store and send what is new; `dry_run` only says what would be sent."""
    now = dt.datetime.now(dt.UTC)
    evaluation_id = uuid.uuid4().hex
    settings = config.settings
    report = EvaluationReport(
        evaluation_id, len(config.rules), dry_run=dry_run, destination=destination.describe() if destination else None
    )
    failed_since = now - dt.timedelta(seconds=settings.redeliver_within_s)
    claims_since = now - dt.timedelta(seconds=settings.delivery_budget_s + settings.timeout_s + CLAIM_MARGIN_S)
    store.ensure_current()
    if dry_run:
        with store.reader() as con:
            plan = _plan(con, config, now, evaluation_id)
            earlier = outbox(con, failed_since, claims_since) + stored_alerts(con, plan.release)
        report.alerts, report.errors = plan.alerts, plan.errors
        to_send = [a for a in plan.alerts if a.delivery == PENDING] + earlier
        report.messages = plan_messages(to_send, settings.max_messages, settings.dashboard_url, evaluation_id)
        return report

    def evaluate_and_record(con: duckdb.DuckDBPyConnection) -> tuple[_Plan, list[Alert]]:
        plan = _plan(con, config, now, evaluation_id)
        record_evaluation(
            con,
            evaluation_id,
            now,
            [r.name for r in config.rules],
            plan.alerts,
            plan.states,
            plan.release,
            report.destination,
            plan.errors,
        )
        to_send = outbox(con, failed_since, claims_since)
        if destination is None:
            mark_not_sent(con, [a.alert_id for a in to_send if a.delivery == PENDING], NO_DESTINATION)
            to_send = []
        claim(con, [a.alert_id for a in to_send], now)
        return plan, to_send

    plan, to_send = store.write(evaluate_and_record)  # run again from the start if another writer collides
    report.alerts, report.errors = plan.alerts, plan.errors
    report.messages = plan_messages(to_send, settings.max_messages, settings.dashboard_url, evaluation_id)
    if report.messages and destination is not None:
        report.deliveries = SlackSender(destination, settings).send_all(report.messages)
        store.write(lambda con: record_deliveries(con, evaluation_id, report.deliveries))
    return report
