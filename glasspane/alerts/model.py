"""What an alert is, from finding to delivery: what a rule found, what was decided, what the store keeps."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

FIRING = "firing"
RESOLVED = "resolved"
OK = "ok"
# Delivery of an alert: sent and accepted, sent and refused, not yet sent, or not sent and why.
DELIVERED = "delivered"
FAILED = "failed"
PENDING = "pending"
SUPPRESSED = "suppressed"  # inside the rule's suppression interval for this subject
NOT_SENT = "not_sent"  # no Slack destination configured, or notify_on_resolve is off


@dataclass(frozen=True)
class Finding:
    """What a rule saw about one subject (a pipeline, a pipeline's table, a dataset).

    Stateful rules report every subject that matches, and every one whose alert fires and that no
    longer matches (to resolve it); event rules (schema, pii) report only changes, each with the
    fingerprint (schema version) it is about.
    """

    subject_key: str
    subject: str
    matching: bool
    title: str
    facts: tuple[tuple[str, str], ...] = ()
    detail: str | None = None  # a longer text: an error's first line, the list of changes
    link: str = ""
    at: dt.datetime | None = None  # when the matched thing happened (a run, a load, a version)
    fingerprint: str | None = None
    pipeline_name: str | None = None
    dataset_name: str | None = None
    location: str | None = None
    table_name: str | None = None


@dataclass
class RuleResult:
    """Everything a rule found in one evaluation."""

    findings: list[Finding] = field(default_factory=list)
    complete: bool = False  # findings cover every subject in scope: a firing subject not among them is gone
    fingerprints: dict[str, str] = field(default_factory=dict)  # subject -> newest version/load seen


@dataclass(frozen=True)
class SubjectState:
    """Where one subject of one rule stands between evaluations."""

    rule_name: str
    subject_key: str
    status: str  # 'firing' | 'ok'
    since: dt.datetime | None = None
    fingerprint: str | None = None
    last_notified_at: dt.datetime | None = None
    alert_id: str | None = None  # the alert that opened the current firing period
    notified: bool = False  # that alert was sent (not suppressed): its resolve may be sent too


@dataclass
class RuleMemory:
    """What earlier evaluations left for one rule: its subjects' states."""

    rule_name: str
    evaluated_before: bool = False
    states: dict[str, SubjectState] = field(default_factory=dict)


@dataclass
class Alert:
    """One alert: a subject started matching (firing) or stopped (resolved)."""

    alert_id: str
    evaluation_id: str
    alerted_at: dt.datetime
    rule_name: str
    rule: str
    severity: str
    state: str
    subject_key: str
    subject: str
    title: str
    facts: tuple[tuple[str, str], ...]
    link: str
    detail: str | None = None
    happened_at: dt.datetime | None = None
    pipeline_name: str | None = None
    dataset_name: str | None = None
    location: str | None = None
    table_name: str | None = None
    resolves: str | None = None  # for a resolved alert: the firing alert it closes
    delivery: str = PENDING
    delivery_error: str | None = None
    delivered_at: dt.datetime | None = None
    attempts: int = 0

    @property
    def to_send(self) -> bool:
        """True when this alert is waiting to be sent."""
        return self.delivery in (PENDING, FAILED)


@dataclass(frozen=True)
class DeliveryRecord:
    """How sending one message went, for every alert it carried."""

    message_id: str
    alert_ids: tuple[str, ...]
    delivered: bool
    error: str | None  # one line, with no webhook, token or channel secret in it
    attempts: int
    at: dt.datetime
    redeliver: bool  # worth sending again at a later evaluation (Slack down, rate limited)
