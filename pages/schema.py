"""Schema history: a dataset's stored schema versions, the diff between any two, and new columns everywhere."""

import streamlit as st

from glasspane.ui import components, shell
from glasspane.ui.sections import schema

shell.inside_app()

st.title("Schema history")
with components.page_guard():
    components.stop_if_empty()
    chosen = schema.choice()
    if chosen is None:
        st.stop()
    history = schema.versions(chosen)
    schema.compare(chosen, history)
    schema.new_columns()
