"""Governance: plan the deletion of one data subject, export it, execute it behind a confirmation; the audit."""

import streamlit as st

from glasspane.queries import governance as gq
from glasspane.ui import components, data, shell, strings
from glasspane.ui.sections import governance

shell.inside_app()

st.title("Governance")
with components.page_guard():
    store = data.current_store()
    kinds = data.query(gq.known_pii_kinds)
    if not kinds:
        st.info(strings.GOVERNANCE_NO_PII)
    else:
        kind, value = governance.plan_form(store, kinds)
        plan = st.session_state.get("deletion_plan")
        if plan is not None and plan.column_kind == kind:
            governance.plan_summary(plan, kind)
            governance.plan_extras(plan, kind)
            governance.execute_form(plan, value, store)
            governance.report(plan)
    governance.audit()
