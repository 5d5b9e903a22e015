"""Deciding what to say: an alert fires when a subject starts matching, not on every evaluation.

Stateful rules (failed, late, volume): a subject is firing or ok. It fires on the change
ok → matching and, when `notify_on_resolve` is on, resolves on the change back. Event rules
(schema, pii): each change is reported once. Suppression: after an alert for a subject is sent,
another alert for it within the rule's interval is held back (recorded as suppressed); a held
firing alert is sent when the interval ends if the subject is still firing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field, replace

from glasspane.alerts.model import (
    FIRING,
    NOT_SENT,
    OK,
    RESOLVED,
    SUPPRESSED,
    Alert,
    Finding,
    RuleMemory,
    RuleResult,
    SubjectState,
)
from glasspane.alerts.rule_config import AlertRule, duration_text


@dataclass
class Decision:
    """What one rule's evaluation changes: new alerts, held alerts to send now, new subject states."""

    alerts: list[Alert] = field(default_factory=list)
    release: list[str] = field(default_factory=list)  # ids of suppressed alerts whose interval ended
    states: list[SubjectState] = field(default_factory=list)


def new_alert(rule: AlertRule, finding: Finding, state: str, now: dt.datetime, evaluation_id: str) -> Alert:
    """An alert about a finding, waiting to be sent."""
    return Alert(
        alert_id=uuid.uuid4().hex,
        evaluation_id=evaluation_id,
        alerted_at=now,
        rule_name=rule.name,
        rule=rule.rule,
        severity=rule.severity,
        state=state,
        subject_key=finding.subject_key,
        subject=finding.subject,
        title=finding.title,
        facts=finding.facts,
        link=finding.link,
        detail=finding.detail,
        happened_at=finding.at,
        pipeline_name=finding.pipeline_name,
        dataset_name=finding.dataset_name,
        location=finding.location,
        table_name=finding.table_name,
    )


def _suppressed(rule: AlertRule, state: SubjectState | None, now: dt.datetime) -> bool:
    last = state.last_notified_at if state else None
    return bool(last and rule.suppress_s > 0 and (now - last).total_seconds() < rule.suppress_s)


def _hold(alert: Alert, rule: AlertRule) -> None:
    alert.delivery = SUPPRESSED
    alert.delivery_error = f"within {duration_text(rule.suppress_s)} of the last alert for this subject"


def decide(rule: AlertRule, result: RuleResult, memory: RuleMemory, now: dt.datetime, evaluation_id: str) -> Decision:
    """Compare a rule's findings with what earlier evaluations saw; say what to send and remember."""
    states = dict(memory.states)
    decision = Decision()
    by_subject: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_subject.setdefault(finding.subject_key, []).append(finding)

    for key, findings in by_subject.items():
        state = states.get(key) or SubjectState(rule.name, key, OK)
        for finding in findings:
            state = (
                _stateful(rule, finding, state, now, evaluation_id, decision)
                if rule.stateful
                else _event(rule, finding, state, now, evaluation_id, decision)
            )
        states[key] = state
    for key, fingerprint in result.fingerprints.items():
        state = states.get(key) or SubjectState(rule.name, key, OK)
        states[key] = replace(state, fingerprint=fingerprint)
    if rule.stateful and result.complete:  # subjects no longer in scope (or in the store) close quietly
        for key, state in list(states.items()):
            if state.status == FIRING and key not in by_subject:
                states[key] = replace(state, status=OK, since=now, alert_id=None, notified=False)
    for key, state in list(states.items()):  # held alerts whose interval has ended, still firing
        if state.status == FIRING and not state.notified and state.alert_id and not _suppressed(rule, state, now):
            decision.release.append(state.alert_id)
            states[key] = replace(state, notified=True, last_notified_at=now)
    decision.states = [s for key, s in states.items() if memory.states.get(key) != s]
    return decision


def _fire(
    rule: AlertRule, finding: Finding, state: SubjectState, now: dt.datetime, evaluation_id: str, decision: Decision
) -> tuple[Alert, bool]:
    """A firing alert for the finding, held back (True) when the rule's interval since the last one has not passed."""
    alert = new_alert(rule, finding, FIRING, now, evaluation_id)
    held = _suppressed(rule, state, now)
    if held:
        _hold(alert, rule)
    decision.alerts.append(alert)
    return alert, held


def _stateful(
    rule: AlertRule, finding: Finding, state: SubjectState, now: dt.datetime, evaluation_id: str, decision: Decision
) -> SubjectState:
    if finding.matching and state.status != FIRING:
        alert, held = _fire(rule, finding, state, now, evaluation_id, decision)
        return replace(
            state,
            status=FIRING,
            since=finding.at or now,
            alert_id=alert.alert_id,
            notified=not held,
            last_notified_at=state.last_notified_at if held else now,
            fingerprint=finding.fingerprint or state.fingerprint,
        )
    if not finding.matching and state.status == FIRING:
        alert = new_alert(rule, finding, RESOLVED, now, evaluation_id)
        alert.resolves = state.alert_id
        if not state.notified:
            _hold(alert, rule)
            alert.delivery_error = "its firing alert was suppressed"
        elif not rule.notify_on_resolve:
            alert.delivery, alert.delivery_error = NOT_SENT, "notify_on_resolve is off for this rule"
        decision.alerts.append(alert)
        return replace(
            state,
            status=OK,
            since=finding.at or now,
            alert_id=None,
            notified=False,
            fingerprint=finding.fingerprint or state.fingerprint,
        )
    return replace(state, fingerprint=finding.fingerprint or state.fingerprint)


def _event(
    rule: AlertRule, finding: Finding, state: SubjectState, now: dt.datetime, evaluation_id: str, decision: Decision
) -> SubjectState:
    alert, held = _fire(rule, finding, state, now, evaluation_id, decision)
    return replace(
        state,
        since=now,
        alert_id=alert.alert_id,
        notified=not held,
        last_notified_at=state.last_notified_at if held else now,
        fingerprint=finding.fingerprint or state.fingerprint,
    )
