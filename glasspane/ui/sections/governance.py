"""Governance sections: plan the deletion of one data subject, show and export the plan, execute it behind a
confirmation, and the deletion audit."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st

from glasspane import access
from glasspane.config import ConfigError, SourceConfig, load_config
from glasspane.formatting import literal, plural, thousands
from glasspane.governance.deletion.execute import DELETED, execute, history_lines, is_planned_subject, plan_for
from glasspane.governance.deletion.model import CLEARED, NOT_SUPPORTED, REBUILD
from glasspane.governance.deletion.targets import BigQueryOpener
from glasspane.governance.subjects import SubjectError, check_value, format_note
from glasspane.queries import governance as gq
from glasspane.ui import access as door
from glasspane.ui import data, strings, url_state
from glasspane.ui.tables import Col, detail, selected_row, show

PLACEHOLDERS = {"duckdb": "$subject", "bigquery": "@subject", "postgres": "%(subject)s"}
OTHER_STEPS = {
    CLEARED: "Views cleared by deleting the base rows",
    REBUILD: "To re-run after the deletes",
    NOT_SUPPORTED: "Not deletable from here",
}
STATEMENTS = {
    "step": Col("#", width=40),
    "table": Col("Table", width=200),
    "action": Col("Action", width=120),
    "rows": Col("Rows ≈", "estimate", width=80),
    "why": Col("Why", width=240),
    "location": Col("Location", "location"),
}
OUTCOMES = {
    "table": Col("Table", width=230),
    "status": Col("Status", "status"),
    "rows": Col("Rows deleted", "count", width=100),
    "error": Col("Error", "error", width=250),
    "location": Col("Location", "location"),
}
LOOKALIKES = {"column": Col("Column", width=260), "why": Col("Why", width=400), "location": Col("Location", "location")}
OTHERS = {"table": Col("Table", width=260), "why": Col("Why", width=400), "location": Col("Location", "location")}
PACKAGES = {
    "package": Col("Package folder", "location", width=260),
    "state": Col("State", "status"),
    "tables": Col("Tables", width=160),
    "what": Col("What to do", width=270),
    "machine": Col("Machine", width=120),
}
AUDIT = {
    "executed_at": Col("When", "time"),
    "executed_by": Col("By", width=140),
    "column_kind": Col("PII kind", width=90),
    "table_name": Col("Table", width=150),
    "status": Col("Status", "status"),
    "rows_deleted": Col("Rows", "count", width=70),
    "error": Col("Error", "error", width=200),
}
AUDIT_DETAIL = {
    "dataset_name": Col("Dataset"),
    "table_name": Col("Table"),
    "statement": Col("Statement"),
    "error": Col("Error"),
    "subject_hash": Col("Subject (salted hash)"),
    "location": Col("Location"),
}


def plan_form(store, kinds: list[str]) -> tuple[str | None, str | None]:
    """The PII kind and the subject's value (never in the URL or a cache key); 'Plan deletion' makes the plan."""
    st.subheader(strings.GOVERNANCE_DELETE)
    st.caption(strings.GOVERNANCE_INTRO)
    left, right = st.columns([1, 3])
    with left:
        kind = url_state.selectbox("PII kind", kinds, "kind", "email" if "email" in kinds else kinds[0])
    with right:
        value = st.text_input(
            strings.SUBJECT_VALUE, type="password", key="subject_value", help=strings.SUBJECT_VALUE_HELP
        )
    if st.button(strings.PLAN_BUTTON, type="primary"):
        st.session_state.pop("deletion_report", None)
        try:
            st.session_state["deletion_plan"] = plan_for(store, kind or "", value or "")
        except SubjectError as ex:
            st.session_state.pop("deletion_plan", None)
            st.error(str(ex))
    return kind, value


def plan_summary(plan, kind: str) -> None:
    """The plan's size, this subject's earlier deletions, and its statements."""
    statements = plan.statements
    if not plan.steps:
        st.info(strings.PLAN_NOTHING.format(kind=kind))
    st.caption(format_note(plan.column_kind))
    metrics = st.columns(4)
    metrics[0].metric("Statements", thousands(len(statements)))
    metrics[1].metric("Rows (estimate)", f"≈ {thousands(round(plan.estimated_rows))}")
    metrics[2].metric("Destinations", thousands(len({s.location for s in statements})))
    metrics[3].metric("Views cleared", thousands(sum(s.action == CLEARED for s in plan.steps)))
    history = data.query(gq.subject_history, subject_hash=plan.subject_hash)
    for line, complete in zip(history_lines(history, literal), history["complete"], strict=True):
        (st.info if complete else st.warning)(strings.PLAN_HISTORY.format(line=line))
    dialects = sorted({s.dialect for s in statements if s.dialect})
    st.caption(strings.PLAN_CAPTION.format(placeholder=", ".join(PLACEHOLDERS.get(d, "?") for d in dialects)))
    rows = [
        {
            "step": i,
            "table": s.qualified_name,
            "action": s.action,
            "rows": s.estimated_rows,
            "why": s.reason,
            "location": s.location,
        }
        for i, s in enumerate(statements, start=1)
    ]
    show(pd.DataFrame(rows, columns=list(STATEMENTS)), STATEMENTS)
    with st.expander(strings.PLAN_STATEMENTS, expanded=True):
        st.code(plan.to_sql(masked=True), language="sql", wrap_lines=True)


def plan_extras(plan, kind: str) -> None:
    """What the statements do not delete: cleared views, models to rebuild, look-alike columns, kept packages."""
    for action_name, title in OTHER_STEPS.items():
        steps = [s for s in plan.steps if s.action == action_name]
        if steps:
            st.markdown(f"**{title}**")
            show(
                pd.DataFrame([{"table": s.qualified_name, "why": s.reason, "location": s.location} for s in steps]),
                OTHERS,
            )
    if plan.lookalikes:
        st.warning(strings.PLAN_NOT_COVERED.format(kind=kind))
        rows = [
            {"column": f"{x.dataset_name}.{x.table_name}.{x.column_name}", "why": x.reason, "location": x.location}
            for x in plan.lookalikes
        ]
        show(pd.DataFrame(rows), LOOKALIKES)
    if plan.packages:
        st.markdown(f"**{strings.PLAN_PACKAGES}**")
        st.caption(strings.PLAN_PACKAGES_CAPTION)
        rows = [
            {"package": p.path, "state": p.state, "tables": ", ".join(p.tables), "what": p.advice, "machine": p.machine}
            for p in plan.packages
        ]
        show(pd.DataFrame(rows), PACKAGES)
    downloads = st.columns([1, 1, 4])
    name = f"deletion-{plan.plan_id[:12]}"
    downloads[0].download_button(
        strings.DOWNLOAD_SQL, plan.to_sql(), f"{name}.sql", "application/sql", on_click="ignore"
    )
    downloads[1].download_button(
        strings.DOWNLOAD_JSON, plan.to_json(), f"{name}.json", "application/json", on_click="ignore"
    )


_bigquery: list[Callable[[Sequence[SourceConfig]], BigQueryOpener]] = []


def open_bigquery_with(opener: Callable[[Sequence[SourceConfig]], BigQueryOpener]) -> None:
    """How an execution opens the configured BigQuery sources: the app gives it (the UI imports no collectors)."""
    _bigquery[:] = [opener]


def execute_form(plan, value: str | None, store) -> None:
    """Execute: only for a signed-in executor who confirms, types the value again and says yes once more."""
    runnable = sorted({s.location for s in plan.statements if s.executable})
    st.markdown("**Execute**")
    if not runnable:
        st.info(strings.EXECUTE_NOTHING)
        return
    if not door.auth_configured():
        st.info(strings.EXECUTE_NEEDS_SIGN_IN)
        return
    confirmed = st.checkbox(
        strings.EXECUTE_CONFIRM.format(destinations=plural(len(runnable), "destination")), key="confirm_delete"
    )
    retyped = st.text_input(strings.EXECUTE_RETYPE, type="password", key="subject_retyped")
    report = st.session_state.get("deletion_report")
    ready = confirmed and bool(retyped) and (report is None or report.plan is not plan)
    if st.button(strings.EXECUTE_BUTTON, type="primary", disabled=not ready):
        st.session_state.pop("deletion_sure", None)
        if door.allow(access.EXECUTE_DELETION) is not None:
            if is_planned_subject(plan, store, value, retyped):
                st.session_state["deletion_sure"] = plan.plan_id
            else:
                st.error(strings.EXECUTE_MISMATCH)
    if st.session_state.get("deletion_sure") == plan.plan_id and ready:
        st.warning(strings.EXECUTE_SURE.format(who=door.current().who))
        sure, cancel, _ = st.columns([1, 1, 4])
        if cancel.button(strings.EXECUTE_CANCEL):
            st.session_state.pop("deletion_sure", None)
            st.rerun()
        if sure.button(strings.EXECUTE_SURE_BUTTON, type="primary"):
            st.session_state.pop("deletion_sure", None)
            _execute(plan, value, retyped, store)


def _execute(plan, value: str | None, retyped: str | None, store) -> None:
    """Execute a plan for a signed-in executor whose typed and re-typed values are the planned subject."""
    if (visitor := door.allow(access.EXECUTE_DELETION)) is None:
        return
    if not is_planned_subject(plan, store, value, retyped):
        st.error(strings.PLAN_STALE)
        return
    try:
        open_bigquery = _bigquery[0](load_config().sources) if _bigquery else None
    except ConfigError as ex:
        st.error(strings.EXECUTE_CONFIG.format(error=ex))
        return
    current = check_value(plan.column_kind, value or "")
    st.session_state["deletion_report"] = execute(plan, current, store, visitor.who or "", open_bigquery)
    st.rerun()  # the button disables itself: a plan runs once


def report(plan) -> None:
    """What an execution of this plan did, statement by statement."""
    done = st.session_state.get("deletion_report")
    if done is None or done.plan is not plan:
        return
    statements_run = sum(o.status == DELETED for o in done.outcomes)
    if done.complete:
        st.success(
            strings.EXECUTE_DONE.format(
                rows=plural(int(done.rows_deleted), "row"), statements=plural(statements_run, "statement")
            )
        )
    else:
        st.error(strings.EXECUTE_INCOMPLETE)
        if done.audit_error:
            st.error(done.audit_error)
    rows = [
        {
            "table": o.step.qualified_name,
            "status": o.status,
            "rows": o.rows_deleted,
            "error": o.error,
            "location": o.step.location,
        }
        for o in done.outcomes
    ]
    show(pd.DataFrame(rows), OUTCOMES)
    if plan.packages:
        st.info(strings.EXECUTE_PACKAGES_LEFT.format(packages=plural(len(plan.packages), "kept load package")))


def audit() -> None:
    """Every executed deletion statement: who, when, what, and how it went."""
    st.divider()
    st.subheader(strings.AUDIT)
    found = data.query(gq.deletion_audit)
    if found.empty:
        st.caption(strings.AUDIT_EMPTY)
    else:
        row = selected_row(show(found, AUDIT, key="audit_table", select="single-row"), found)
        if row is not None:
            detail(row, AUDIT_DETAIL)
