"""PII: every personal-data column across every source, suspected untagged ones, and hints to export."""

import streamlit as st

from glasspane.ui import components, shell
from glasspane.ui.sections import pii

shell.inside_app()

st.title("PII")
with components.page_guard():
    components.flash("pii_flash")
    components.stop_if_empty()
    inventory, suspected, any_pii = pii.filters()
    pii.counts(inventory, suspected)
    pii.inventory_table(inventory, any_pii)
    pii.suspected_table(suspected)
    pii.export(inventory)
