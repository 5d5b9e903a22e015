"""Locations: where data flows — each project, bucket, machine or file, its datasets and pipelines."""

import streamlit as st

from glasspane.ui import components, shell
from glasspane.ui.sections import locations

shell.inside_app()

st.title("Locations")
with components.page_guard():
    components.stop_if_empty()
    chosen = locations.inventory()
    if chosen is None:
        st.stop()
    locations.flows(chosen)
