"""Overview: health at a glance across every location; every pipeline, failing, late and anomalous first."""

import streamlit as st

from glasspane.ui import components, shell
from glasspane.ui.sections import overview

shell.inside_app()

st.title("Overview")
with components.page_guard():
    components.stop_if_empty()
    overview.health_counts()
    overview.pipelines_table()
