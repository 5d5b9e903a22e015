"""Row-count trends: one pipeline's table, rows per load over time, with its baseline and anomalies."""

import streamlit as st

from glasspane.ui import components, shell
from glasspane.ui.sections import trends

shell.inside_app()

st.title("Row-count trends")
with components.page_guard():
    components.stop_if_empty()
    chosen = trends.choice()
    if chosen is None:
        st.stop()
    components.flash("trends_flash")
    points = trends.trend(chosen)
    if points is None:
        st.stop()
    trends.asked_mark(points)
    trends.anomalies(points)
    trends.other_tables(chosen)
