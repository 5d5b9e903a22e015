"""Alerts: every alert raised, filterable from the URL; each rule and what it matches now."""

import streamlit as st

from glasspane.ui import components, shell
from glasspane.ui.sections import alerts

shell.inside_app()

st.title("Alerts")
with components.page_guard():
    last = alerts.last_evaluation()
    chosen = alerts.filters()
    alerts.alerts_list(chosen, evaluated=last is not None)
    alerts.rules()
