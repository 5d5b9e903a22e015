"""Lineage: a column's upstream and downstream graph, bounded to N hops; inherited PII and PII filters."""

import streamlit as st

from glasspane.queries import lineage as q
from glasspane.ui import components, data, shell, strings
from glasspane.ui.sections import lineage

shell.inside_app()

st.title("Lineage")
with components.page_guard():
    if not data.query(q.definitions_summary)["definitions"]:
        st.info(strings.LINEAGE_EMPTY)
        st.stop()
    columns = data.query(q.lineage_columns)
    if columns.empty:
        st.info(strings.LINEAGE_NO_EDGES)
        st.stop()
    lineage.neighbourhood(lineage.choice(columns))
    lineage.inherited_pii()
    lineage.problems()
