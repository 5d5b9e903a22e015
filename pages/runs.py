"""Runs: every run across every source, filterable; a selected run's tables, steps and error."""

import streamlit as st

from glasspane.ui import components, shell
from glasspane.ui.sections import runs

shell.inside_app()

st.title("Runs")
with components.page_guard():
    components.stop_if_empty()
    chosen = runs.filters()
    runs.pipeline_health(chosen["pipelines"])
    runs.runs_list(chosen)
