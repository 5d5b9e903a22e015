"""Locations sections: each place data lives, trouble first, with a selected one's detail; where data flows."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from glasspane.queries import locations as q
from glasspane.ui import data, strings, url_state
from glasspane.ui.flow_graph import to_dot
from glasspane.ui.tables import Col, detail, selected_row, short_location, show

LOCATIONS = {
    "location": Col("Location", "location", width=250, help=strings.LOCATION_HELP),
    "kind": Col("Kind", width=100),
    "collect_status": Col("Last collect", "status"),
    "pipeline_count": Col("Pipelines", "count", width=80),
    "failing": Col("Failing", "count", width=76),
    "late": Col("Late", "count", width=64),
    "dataset_count": Col("Datasets", "count", width=80),
    "last_run_at": Col("Last run", "ago"),
}
LOCATION_DETAIL = {
    "location": Col("Location"),
    "datasets": Col("Dataset names", "list"),
    "destination_types": Col("Destinations", "list"),
    "environments": Col("Runs in", "list"),
    "sources": Col("Read by", "list"),
    "last_collect_at": Col("Collected", "time"),
    "collect_error": Col("Collect error"),
}


def inventory() -> list[str] | None:
    """Every location (or the chosen ones, kept in the URL), a selected one's detail; None when there is none."""
    everything = data.query(q.locations_inventory)
    if everything.empty:
        st.info(strings.LOCATIONS_EMPTY)
        return None
    chosen = url_state.multiselect("Locations", list(everything["location"]), "location", format_func=short_location)
    shown = everything[everything["location"].isin(chosen)] if chosen else everything
    st.caption(strings.LOCATIONS_CAPTION)
    row = selected_row(show(shown, LOCATIONS, key="locations_table", select="single-row"), shown)
    if row is not None:
        detail(row, LOCATION_DETAIL)
    return chosen


def flows(chosen: list[str]) -> None:
    """Where each pipeline runs → the pipeline → its datasets, grouped by location."""
    st.subheader(strings.LOCATIONS_GRAPH)
    found: pd.DataFrame = data.query(q.location_flows, locations=chosen)
    if found.empty:
        st.caption(strings.NO_PIPELINES)
        return
    dot, hidden = to_dot(found)
    st.graphviz_chart(dot, width="stretch")
    st.caption(strings.LOCATIONS_GRAPH_CAPTION)
    if hidden:
        st.caption(strings.LOCATIONS_GRAPH_TRUNCATED.format(shown=len(found) - hidden, total=len(found)))
