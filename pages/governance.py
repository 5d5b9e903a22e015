"""Governance: plan the deletion of one data subject, export it, execute it behind a confirmation; the audit."""

import pandas as pd
import streamlit as st

from collectors import registry
from glasspane import access
from glasspane.config import ConfigError, load_config
from glasspane.formatting import literal
from glasspane.governance.deletion.execute import DELETED, execute, history_lines, is_planned_subject, plan_for
from glasspane.governance.deletion.model import CLEARED, NOT_SUPPORTED, REBUILD
from glasspane.governance.subjects import SubjectError, check_value, format_note
from glasspane.queries import governance as gq
from glasspane.ui import access as door
from glasspane.ui import components, data, shell, strings, url_state

shell.inside_app()

PLACEHOLDERS = {"duckdb": "$subject", "bigquery": "@subject", "postgres": "%(subject)s"}
OTHER_STEPS = {
    CLEARED: "Views cleared by deleting the base rows",
    REBUILD: "To re-run after the deletes",
    NOT_SUPPORTED: "Not deletable from here",
}
OUTCOME_COLUMNS = {"table": "Table", "status": "Status", "rows": "Rows deleted",
                   "error": st.column_config.TextColumn("Error", width="large"), "location": "Location"}  # fmt: skip
LOOKALIKE_COLUMNS = {"column": "Column", "why": st.column_config.TextColumn("Why", width="large"),
                     "location": "Location"}  # fmt: skip
OTHER_COLUMNS = {"table": "Table", "why": st.column_config.TextColumn("Why", width="large"), "location": "Location"}
PACKAGE_COLUMNS = {"package": "Package folder", "state": "State", "tables": "Tables",
                   "what": st.column_config.TextColumn("What to do", width="large"), "machine": "Machine"}  # fmt: skip


def _execute(plan, value: str | None, retyped: str | None, store) -> None:
    """Execute a plan for a signed-in executor whose typed and re-typed values are the planned subject."""
    if (visitor := door.allow(access.EXECUTE_DELETION)) is None:
        return
    if not is_planned_subject(plan, store, value, retyped):
        st.error(strings.PLAN_STALE)
        return
    try:
        open_bigquery = registry.bigquery_opener(load_config().sources)
    except ConfigError as ex:
        st.error(strings.EXECUTE_CONFIG.format(error=ex))
        return
    current = check_value(plan.column_kind, value or "")
    st.session_state["deletion_report"] = execute(plan, current, store, visitor.who or "", open_bigquery)
    st.rerun()  # the button disables itself: a plan runs once


st.title("Governance")
with components.page_guard():
    store = data.current_store()
    kinds = data.query(gq.known_pii_kinds)
    if not kinds:
        st.info(strings.GOVERNANCE_NO_PII)
    else:
        st.subheader("Delete a data subject")
        st.caption(strings.GOVERNANCE_INTRO)
        left, right = st.columns([1, 3])
        with left:
            kind = url_state.selectbox("PII kind", kinds, "kind", "email" if "email" in kinds else kinds[0])
        with right:  # never in the URL, never in a cache key
            value = st.text_input(strings.SUBJECT_VALUE, type="password", key="subject_value",
                                  help=strings.SUBJECT_VALUE_HELP)  # fmt: skip
        if st.button(strings.PLAN_BUTTON, type="primary"):
            st.session_state.pop("deletion_report", None)
            try:
                st.session_state["deletion_plan"] = plan_for(store, kind or "", value or "")
            except SubjectError as ex:
                st.session_state.pop("deletion_plan", None)
                st.error(str(ex))

        plan = st.session_state.get("deletion_plan")
        if plan is not None and plan.column_kind == kind:
            statements = plan.statements
            if not plan.steps:
                st.info(strings.PLAN_NOTHING.format(kind=kind))
            st.caption(format_note(plan.column_kind))
            metrics = st.columns(4)
            metrics[0].metric("Statements", len(statements))
            metrics[1].metric("Rows (estimate)", f"≈ {plan.estimated_rows:g}")
            metrics[2].metric("Destinations", len({s.location for s in statements}))
            metrics[3].metric("Views cleared", sum(s.action == CLEARED for s in plan.steps))
            history = data.query(gq.subject_history, subject_hash=plan.subject_hash)
            for line, complete in zip(history_lines(history, literal), history["complete"], strict=True):
                (st.info if complete else st.warning)(strings.PLAN_HISTORY.format(line=line))
            dialects = sorted({s.dialect for s in statements if s.dialect})
            st.caption(strings.PLAN_CAPTION.format(placeholder=", ".join(PLACEHOLDERS.get(d, "?") for d in dialects)))
            st.dataframe(
                pd.DataFrame([{"step": i, "table": s.qualified_name, "action": s.action, "rows": s.estimated_rows,
                               "estimate": s.estimate_note, "why": s.reason, "location": s.location}
                              for i, s in enumerate(statements, start=1)]),
                hide_index=True, width="stretch",
                column_config={"step": "#", "table": "Table", "action": "Action",
                               "rows": st.column_config.NumberColumn("Rows ≈", format="%g"),
                               "estimate": "Estimate", "why": st.column_config.TextColumn("Why", width="large"),
                               "location": "Location"},
            )  # fmt: skip
            with st.expander(strings.PLAN_STATEMENTS, expanded=True):
                st.code(plan.to_sql(masked=True), language="sql", wrap_lines=True)
            for action_name, title in OTHER_STEPS.items():
                steps = [s for s in plan.steps if s.action == action_name]
                if steps:
                    st.markdown(f"**{title}**")
                    listed = pd.DataFrame([{"table": s.qualified_name, "why": s.reason, "location": s.location}
                                           for s in steps])  # fmt: skip
                    st.dataframe(listed, hide_index=True, width="stretch", column_config=OTHER_COLUMNS)
            if plan.lookalikes:
                st.warning(strings.PLAN_NOT_COVERED.format(kind=kind))
                lookalikes = pd.DataFrame(
                    [{"column": f"{x.dataset_name}.{x.table_name}.{x.column_name}", "why": x.reason,
                      "location": x.location} for x in plan.lookalikes]
                )  # fmt: skip
                st.dataframe(lookalikes, hide_index=True, width="stretch", column_config=LOOKALIKE_COLUMNS)
            if plan.packages:
                st.markdown(f"**{strings.PLAN_PACKAGES}**")
                st.caption(strings.PLAN_PACKAGES_CAPTION)
                packages = pd.DataFrame(
                    [{"package": p.path, "state": p.state, "tables": ", ".join(p.tables), "what": p.advice,
                      "machine": p.machine} for p in plan.packages]
                )  # fmt: skip
                st.dataframe(packages, hide_index=True, width="stretch", column_config=PACKAGE_COLUMNS)
            downloads = st.columns([1, 1, 4])
            downloads[0].download_button(strings.DOWNLOAD_SQL, plan.to_sql(), f"deletion-{plan.plan_id[:12]}.sql",
                                         "application/sql", on_click="ignore")  # fmt: skip
            downloads[1].download_button(strings.DOWNLOAD_JSON, plan.to_json(), f"deletion-{plan.plan_id[:12]}.json",
                                         "application/json", on_click="ignore")  # fmt: skip

            runnable = sorted({s.location for s in statements if s.executable})
            st.markdown("**Execute**")
            if not runnable:
                st.info(strings.EXECUTE_NOTHING)
            elif not door.auth_configured():
                st.info(strings.EXECUTE_NEEDS_SIGN_IN)
            else:
                confirmed = st.checkbox(strings.EXECUTE_CONFIRM.format(count=len(runnable)), key="confirm_delete")
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
                    visitor = door.current()
                    st.warning(strings.EXECUTE_SURE.format(who=visitor.who))
                    sure, cancel, _ = st.columns([1, 1, 4])
                    if cancel.button(strings.EXECUTE_CANCEL):
                        st.session_state.pop("deletion_sure", None)
                        st.rerun()
                    if sure.button(strings.EXECUTE_SURE_BUTTON, type="primary"):
                        st.session_state.pop("deletion_sure", None)
                        _execute(plan, value, retyped, store)
            report = st.session_state.get("deletion_report")
            if report is not None and report.plan is plan:
                statements_run = sum(o.status == DELETED for o in report.outcomes)
                if report.complete:
                    st.success(strings.EXECUTE_DONE.format(rows=report.rows_deleted, statements=statements_run))
                else:
                    st.error(strings.EXECUTE_INCOMPLETE)
                    if report.audit_error:
                        st.error(report.audit_error)
                outcomes = pd.DataFrame(
                    [{"table": o.step.qualified_name, "status": o.status, "rows": o.rows_deleted, "error": o.error,
                      "location": o.step.location} for o in report.outcomes]
                )  # fmt: skip
                st.dataframe(outcomes, hide_index=True, width="stretch", column_config=OUTCOME_COLUMNS)
                if plan.packages:
                    st.info(strings.EXECUTE_PACKAGES_LEFT.format(count=len(plan.packages)))

    st.divider()
    st.subheader("Deletion audit")
    audit = data.query(gq.deletion_audit)
    if audit.empty:
        st.caption(strings.AUDIT_EMPTY)
    else:
        st.dataframe(
            audit, hide_index=True, width="stretch",
            column_order=["executed_at", "executed_by", "column_kind", "dataset_name", "table_name", "status",
                          "rows_deleted", "error", "subject_hash", "location", "statement"],
            column_config={"executed_at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm:ss"),
                           "executed_by": "By", "column_kind": "PII kind", "dataset_name": "Dataset",
                           "table_name": "Table", "status": "Status",
                           "rows_deleted": st.column_config.NumberColumn("Rows", format="localized"),
                           "error": "Error", "subject_hash": "Subject (salted hash)", "location": "Location",
                           "statement": st.column_config.TextColumn("Statement", width="large")},
        )  # fmt: skip
