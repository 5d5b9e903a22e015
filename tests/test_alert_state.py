"""The decision rules on their own, over explicit times: fire on change, resolve, suppress, release."""

from __future__ import annotations

import datetime as dt

from glasspane.alerts.model import FIRING, NOT_SENT, PENDING, RESOLVED, SUPPRESSED, Finding, RuleMemory, RuleResult
from glasspane.alerts.rule_config import AlertRule
from glasspane.alerts.state import decide

T0 = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)
FAILED = AlertRule(name="failed", rule="failed", severity="critical", suppress_s=3600, notify_on_resolve=True)


class Subject:
    """Evaluations of one rule over time, carrying its memory from one to the next like the store does."""

    def __init__(self, rule: AlertRule):
        self.rule = rule
        self.memory = RuleMemory(rule.name)

    def evaluate(self, minutes: float, *matching: bool, complete: bool = True):
        findings = [Finding("p", "crm", m, "crm failed" if m else "crm ran again") for m in matching]
        decision = decide(
            self.rule,
            RuleResult(findings, complete=complete),
            self.memory,
            T0 + dt.timedelta(minutes=minutes),
            f"e{minutes}",
        )
        self.memory = RuleMemory(
            self.rule.name, True, {**self.memory.states, **{s.subject_key: s for s in decision.states}}
        )
        return decision


def sent(decision) -> list[tuple[str, str]]:
    return [(a.state, a.delivery) for a in decision.alerts]


def test_fires_once_while_failing_and_resolves_once():
    subject = Subject(FAILED)
    assert sent(subject.evaluate(0, False)) == []
    assert sent(subject.evaluate(10, True)) == [(FIRING, PENDING)]
    assert sent(subject.evaluate(20, True)) == []
    assert sent(subject.evaluate(30, True)) == []
    assert sent(subject.evaluate(40, False)) == [(RESOLVED, PENDING)]
    assert subject.memory.states["p"].status == "ok"


def test_a_flap_inside_the_interval_is_held_and_sent_when_the_interval_ends_if_still_failing():
    subject = Subject(FAILED)
    fired = subject.evaluate(0, True)
    assert sent(subject.evaluate(5, False)) == [(RESOLVED, PENDING)]
    held = subject.evaluate(10, True)
    assert sent(held) == [(FIRING, SUPPRESSED)]
    assert "within 1 h of the last alert" in held.alerts[0].delivery_error
    assert subject.evaluate(30, True).release == []  # still inside the hour after the first alert
    released = subject.evaluate(61, True)
    assert released.release == [held.alerts[0].alert_id] and released.alerts == []
    assert subject.evaluate(70, True).release == []  # released once
    assert sent(subject.evaluate(80, False)) == [(RESOLVED, PENDING)]  # its resolve is sent: the team heard of it
    assert fired.alerts[0].alert_id != held.alerts[0].alert_id


def test_the_resolve_of_a_held_alert_stays_quiet_and_resolve_messages_can_be_off():
    subject = Subject(FAILED)
    subject.evaluate(0, True)
    subject.evaluate(5, False)
    subject.evaluate(10, True)
    quiet = subject.evaluate(15, False)
    assert sent(quiet) == [(RESOLVED, SUPPRESSED)]
    assert quiet.alerts[0].delivery_error == "its firing alert was suppressed"

    muted = Subject(AlertRule(name="late", rule="late", severity="warning", notify_on_resolve=False))
    muted.evaluate(0, True)
    assert sent(muted.evaluate(5, False)) == [(RESOLVED, NOT_SENT)]


def test_an_anomaly_and_its_recovery_between_two_evaluations_are_both_reported_in_order():
    volume = Subject(AlertRule(name="volume", rule="volume", severity="warning", notify_on_resolve=True))
    decision = volume.evaluate(0, False, True, False, complete=False)
    assert sent(decision) == [(FIRING, PENDING), (RESOLVED, PENDING)]
    assert decision.alerts[1].resolves == decision.alerts[0].alert_id


def test_a_firing_subject_that_leaves_the_scope_closes_quietly_for_complete_rules_only():
    subject = Subject(FAILED)
    subject.evaluate(0, True)
    assert sent(subject.evaluate(5, complete=True)) == []
    assert subject.memory.states["p"].status == "ok"
    volume = Subject(AlertRule(name="volume", rule="volume", severity="warning"))
    volume.evaluate(0, True, complete=False)
    volume.evaluate(5, complete=False)  # no new load of this table: still firing
    assert volume.memory.states["p"].status == FIRING


def test_event_rules_report_every_change_and_remember_the_version_seen():
    schema = AlertRule(name="schema", rule="schema", severity="info", suppress_s=600)
    memory = RuleMemory("schema", True)
    change = Finding("ds", "crm", True, "Schema of crm changed", fingerprint="v2")
    first = decide(schema, RuleResult([change]), memory, T0, "e1")
    assert sent(first) == [(FIRING, PENDING)] and first.states[0].fingerprint == "v2"
    memory = RuleMemory("schema", True, {s.subject_key: s for s in first.states})
    again = decide(
        schema,
        RuleResult([Finding("ds", "crm", True, "changed again", fingerprint="v3")]),
        memory,
        T0 + dt.timedelta(minutes=5),
        "e2",
    )
    assert sent(again) == [(FIRING, SUPPRESSED)]  # recorded, not sent, inside the 10 minutes
    baseline = decide(schema, RuleResult(fingerprints={"other": "v1"}), memory, T0, "e3")
    assert baseline.alerts == [] and [s.fingerprint for s in baseline.states] == ["v1"]
