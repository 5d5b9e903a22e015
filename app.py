"""Glasspane: `streamlit run app.py`. Navigation and the sidebar; each page lives in pages/."""

import streamlit as st

from collectors.registry import bigquery_opener
from glasspane.queries import sources as source_queries
from glasspane.ui import access, components, data, strings
from glasspane.ui.sections import governance

governance.open_bigquery_with(bigquery_opener)  # deletions execute with a configured BigQuery source's credentials

st.set_page_config(page_title=strings.APP_TITLE, page_icon=strings.APP_ICON, layout="wide")
st.html(strings.PAGE_STYLE)  # narrower margins: the first columns of every table fit at 1280 px

PAGES = [
    st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", url_path="overview", default=True),
    st.Page("pages/runs.py", title="Runs", icon=":material/list_alt:", url_path="runs"),
    st.Page("pages/trends.py", title="Row-count trends", icon=":material/monitoring:", url_path="trends"),
    st.Page("pages/schema.py", title="Schema history", icon=":material/schema:", url_path="schema"),
    st.Page("pages/pii.py", title="PII", icon=":material/badge:", url_path="pii"),
    st.Page("pages/locations.py", title="Locations", icon=":material/public:", url_path="locations"),
    st.Page("pages/alerts.py", title="Alerts", icon=":material/notifications:", url_path="alerts"),
    st.Page("pages/lineage.py", title="Lineage", icon=":material/account_tree:", url_path="lineage"),
    st.Page("pages/governance.py", title="Governance", icon=":material/policy:", url_path="governance"),
]
visitor = access.door()  # anonymous visitors sign in first; signed-in ones need a role
navigation = st.navigation(PAGES)
progress = st.container()  # Collect now's progress spans the page, above it

with st.sidebar:
    st.caption(strings.TAGLINE)
    access.sidebar(visitor)
    with components.page_guard(in_sidebar=True):
        components.collect_button(area=progress)
        sources = data.query(source_queries.sources_status)
        if not sources.empty:
            failing = int((sources["status"] != "ok").sum())
            st.caption(f"{len(sources)} sources" + (f", {failing} with errors" if failing else ", all ok"))
    st.caption(f"Store: {data.current_store().name}")

navigation.run()
