"""Plan a subject's deletion from the store's metadata, and execute a plan where Glasspane can: DuckDB files,
BigQuery projects and Postgres databases (`glasspane.governance.deletion.targets`).

Execution is all-or-nothing per destination (one transaction each; per region in BigQuery) and
checks every destination it will touch before running anything: if one cannot be reached, nothing
runs anywhere. Every executed statement is written to the store's `deletion_audit`, with the subject
as a salted hash; the value itself is never stored, logged or shown in an error (it is scrubbed from
destination messages).

Statements on dlt's staging datasets are skipped ("not present") where dlt has not created the
dataset or table. Kept load packages are files in pipeline working folders, often on another
machine and, while pending, not loaded yet: they are never deleted from here, only listed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from glasspane.dlt_meta import redact
from glasspane.governance.deletion.metadata import deletion_targets
from glasspane.governance.deletion.model import DeletionPlan, Step
from glasspane.governance.deletion.plan import build_plan
from glasspane.governance.deletion.targets import BigQueryOpener, Target, Unreachable, open_target, tables_of
from glasspane.governance.subjects import SubjectError, check_kind, check_value, salt_for, scrub, subject_hash
from glasspane.queries import governance as queries
from glasspane.store import Store
from glasspane.store.governance import write_audit

DELETED, FAILED, ROLLED_BACK, NOT_RUN, SKIPPED = "deleted", "failed", "rolled_back", "not_run", "skipped"


def history_lines(history: Any, shown: Callable[[str], str] = str) -> list[str]:
    """One line per earlier execution for a subject (`queries.governance.subject_history`), newest first:
    "executed before" only when it completed, else "attempted before …, not completed". `shown` renders
    the requester's name (e.g. escaped for Markdown)."""
    lines = []
    for row in history.itertuples(index=False):
        when = f"{row.executed_at:%Y-%m-%d %H:%M} UTC by {shown(row.executed_by)}"
        if row.complete:
            lines.append(f"executed before for this subject on {when}: {int(row.rows_deleted or 0)} rows deleted")
        else:
            lines.append(
                f"attempted before on {when}, not completed: {row.not_completed} statements failed, "
                "not run or rolled back"
            )
    return lines


@dataclass
class StepOutcome:
    """What happened to one statement of a plan."""

    step: Step
    status: str
    rows_deleted: int | None = None
    error: str | None = None


@dataclass
class ExecutionReport:
    """The outcome of executing a plan, statement by statement."""

    plan: DeletionPlan
    executed_by: str
    executed_at: dt.datetime
    outcomes: list[StepOutcome] = field(default_factory=list)
    audit_error: str | None = None  # the statements ran but the audit could not be written

    @property
    def complete(self) -> bool:
        """True when every statement of the plan ran (none failed, none left to run elsewhere)."""
        return self.audit_error is None and all(o.status in (DELETED, SKIPPED) for o in self.outcomes)

    @property
    def rows_deleted(self) -> int:
        """Rows deleted across every destination."""
        return sum(o.rows_deleted or 0 for o in self.outcomes if o.status == DELETED)

    def lines(self) -> list[str]:
        """One line per statement and a verdict: what ran, what did not, and why."""
        lines = []
        for o in self.outcomes:
            detail = f"{o.rows_deleted} rows" if o.status == DELETED else (o.error or "")
            lines.append(f"{o.status:<11} {o.step.location} {o.step.qualified_name}: {detail}".rstrip())
        ran = sum(o.status == DELETED for o in self.outcomes)
        if self.plan.packages:
            lines.append(
                f"not deleted from here: {len(self.plan.packages)} kept load packages in pipeline working "
                "folders hold copies of loaded rows; see the plan for what to do with them"
            )
        if self.audit_error:
            lines.append(f"AUDIT NOT WRITTEN: {self.audit_error}")
        if self.complete:
            lines.append(f"done: {self.rows_deleted} rows deleted by {ran} statements")
        else:
            left = len(self.outcomes) - ran - sum(o.status == SKIPPED for o in self.outcomes)
            lines.append(
                f"NOT COMPLETE: {ran} statements ran ({self.rows_deleted} rows deleted), {left} did not: see above"
            )
        return lines


def plan_for(store: Store, column_kind: str, value: str) -> DeletionPlan:
    """Check the kind and value, then plan from the store's metadata (SubjectError on bad input)."""
    with store.reader() as con:
        kind = check_kind(column_kind, queries.known_pii_kinds(con))
        cleaned = check_value(kind, value)
        targets = deletion_targets(con, kind)
    return build_plan(targets, cleaned, subject_hash(kind, cleaned, salt_for(store.path)))


def is_planned_subject(plan: DeletionPlan, store: Store, *typed: str | None) -> bool:
    """True when every typed value is the subject the plan was made for (compared by salted hash)."""
    try:
        values = [check_value(plan.column_kind, t or "") for t in typed]
    except SubjectError:
        return False
    salt = salt_for(store.path)
    return bool(values) and all(subject_hash(plan.column_kind, v, salt) == plan.subject_hash for v in values)


def execute(
    plan: DeletionPlan, value: str, store: Store, executed_by: str, open_bigquery: BigQueryOpener | None = None
) -> ExecutionReport:
    """Run the plan's statements where it names them, then audit every statement in the store.

    `open_bigquery` opens the configured `bigquery` source that reads a project: its credentials execute there.
    """
    value = value.strip()
    report = ExecutionReport(plan, executed_by, dt.datetime.now(dt.UTC))
    by_location: dict[str, list[Step]] = defaultdict(list)
    for step in plan.statements:
        by_location[step.location].append(step)
    runnable = {loc: steps for loc, steps in by_location.items() if all(s.executable for s in steps)}
    outcomes: dict[int, StepOutcome] = {}
    for location, steps in by_location.items():
        if location not in runnable:
            dialect = steps[0].dialect or "this destination"
            for step in steps:
                outcomes[id(step)] = StepOutcome(
                    step,
                    NOT_RUN,
                    error=f"execution from here supports DuckDB, BigQuery "
                    f"and Postgres only: run the exported SQL in {dialect}",
                )
    targets: dict[str, Target] = {}
    try:
        problem = None
        for location, steps in runnable.items():
            try:
                targets[location] = open_target(location, steps, open_bigquery)
            except Unreachable as ex:
                problem = f"nothing was executed: {location}: {redact(scrub(str(ex), value), limit=500)}"
                break
        if problem:
            for steps in runnable.values():
                for step in steps:
                    outcomes[id(step)] = StepOutcome(step, NOT_RUN, error=problem)
        else:
            for location, steps in runnable.items():
                for outcome in _run(targets[location], steps, value):
                    outcomes[id(outcome.step)] = outcome
    finally:
        for target in targets.values():
            with contextlib.suppress(Exception):
                target.close()
    report.outcomes = [outcomes[id(s)] for s in plan.statements]
    try:
        with store.writer() as con:
            write_audit(con, _audit_rows(report))
    except Exception as ex:  # the deletes are done: say so loudly rather than lose the report
        report.audit_error = redact(scrub(f"{type(ex).__name__}: {ex}", value), limit=500)
    return report


def _run(target: Target, steps: list[Step], value: str) -> list[StepOutcome]:
    """One transaction: every statement, or (on the first failure) none of them."""
    present = target.present()
    outcomes: list[StepOutcome] = []
    target.begin()
    for index, step in enumerate(steps):
        absent = sorted(f"{t.db}.{t.name}" for t in tables_of(step) if (t.db, t.name) not in present)
        if absent:
            reason = "not present" if step.skip_if_absent else f"not in the destination: {', '.join(absent)}"
            outcomes.append(StepOutcome(step, SKIPPED, 0, reason))
            continue
        try:
            outcomes.append(StepOutcome(step, DELETED, target.run(step, value)))
        except target.errors as ex:
            error = redact(scrub(target.describe(ex), value), limit=500)
            undone = "rolled back"
            try:
                target.rollback()
            except target.errors as failed:
                undone = f"NOT rolled back ({redact(scrub(target.describe(failed), value), limit=200)})"
            for earlier in outcomes:
                if earlier.status == DELETED:
                    earlier.status, earlier.error = ROLLED_BACK, f"{undone}: {step.qualified_name} failed"
                    earlier.rows_deleted = 0
            outcomes.append(StepOutcome(step, FAILED, 0, error))
            outcomes += [
                StepOutcome(s, NOT_RUN, error=f"not run: {step.qualified_name} failed") for s in steps[index + 1 :]
            ]
            return outcomes
    try:
        target.commit()
    except target.errors as ex:
        error = redact(scrub(f"commit failed: {target.describe(ex)}", value), limit=500)
        for outcome in outcomes:
            if outcome.status == DELETED:
                outcome.status, outcome.rows_deleted, outcome.error = ROLLED_BACK, 0, error
    return outcomes


def _audit_rows(report: ExecutionReport) -> list[dict]:
    plan = report.plan
    return [
        {
            "plan_id": plan.plan_id,
            "step": index,
            "executed_at": report.executed_at,
            "executed_by": report.executed_by,
            "column_kind": plan.column_kind,
            "subject_hash": plan.subject_hash,
            "location": o.step.location,
            "dataset_name": o.step.dataset_name,
            "table_name": o.step.table_name,
            "action": o.step.action,
            "status": o.status,
            "rows_deleted": o.rows_deleted,
            "statement": o.step.masked,
            "error": o.error,
        }
        for index, o in enumerate(report.outcomes, start=1)
    ]
