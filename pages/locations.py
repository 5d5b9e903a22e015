"""Locations: where data flows — each project, bucket, machine or file, its datasets and pipelines."""

import streamlit as st

from glasspane.queries import locations as q
from glasspane.ui import components, data, shell, strings, url_state
from glasspane.ui.flow_graph import to_dot

shell.inside_app()

st.title("Locations")
with components.page_guard():
    components.stop_if_empty()
    inventory = data.query(q.locations_inventory)
    if inventory.empty:
        st.info(strings.LOCATIONS_EMPTY)
        st.stop()
    chosen = url_state.multiselect("Locations", list(inventory["location"]), "location")
    shown = inventory[inventory["location"].isin(chosen)] if chosen else inventory
    st.caption(strings.LOCATIONS_CAPTION)
    st.dataframe(
        shown, hide_index=True, width="stretch",
        column_order=["location", "kind", "collect_status", "pipeline_count", "failing", "late", "dataset_count",
                      "datasets", "destination_types", "environments", "sources", "last_run_at", "last_collect_at",
                      "collect_error"],
        column_config={
            "location": st.column_config.TextColumn("Location"), "kind": st.column_config.TextColumn("Kind"),
            "collect_status": st.column_config.TextColumn("Last collect"),
            "pipeline_count": st.column_config.NumberColumn("Pipelines", format="localized"),
            "failing": st.column_config.NumberColumn("Failing"), "late": st.column_config.NumberColumn("Late"),
            "dataset_count": st.column_config.NumberColumn("Datasets", format="localized"),
            "datasets": st.column_config.ListColumn("Dataset names"),
            "destination_types": st.column_config.ListColumn("Destinations"),
            "environments": st.column_config.ListColumn("Runs in"),
            "sources": st.column_config.ListColumn("Read by"),
            "last_run_at": st.column_config.DatetimeColumn("Last run", format="distance"),
            "last_collect_at": st.column_config.DatetimeColumn("Collected", format="distance"),
            "collect_error": st.column_config.TextColumn("Collect error", width="large"),
        },
    )  # fmt: skip

    st.subheader(strings.LOCATIONS_GRAPH)
    flows = data.query(q.location_flows, locations=chosen)
    if flows.empty:
        st.caption(strings.NO_PIPELINES)
    else:
        dot, hidden = to_dot(flows)
        st.graphviz_chart(dot, width="stretch")
        st.caption(strings.LOCATIONS_GRAPH_CAPTION)
        if hidden:
            st.caption(strings.LOCATIONS_GRAPH_TRUNCATED.format(shown=len(flows) - hidden, total=len(flows)))
