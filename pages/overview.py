"""Overview: health at a glance across every location; every pipeline, failing, late and anomalous first."""

import streamlit as st

from glasspane.formatting import cadence
from glasspane.pipeline_health import HEALTH_STATES
from glasspane.queries import pipelines as q
from glasspane.ui import components, data, shell, strings, url_state
from glasspane.ui.theme import HEALTH_COLOURS

shell.inside_app()

COLUMNS = [
    "health", "pipeline_name", "last_success_at", "last_row_count", "recent_row_counts", "cadence", "environment",
    "location", "dataset_name", "last_status", "last_run_at", "runs", "failed_runs", "last_error",
]  # fmt: skip

st.title("Overview")
with components.page_guard():
    components.stop_if_empty()
    totals = data.query(q.store_totals)
    counts = data.query(q.health_counts)
    cols = st.columns(len(HEALTH_STATES) + 1)
    for col, state in zip(cols, HEALTH_STATES, strict=False):
        col.metric(strings.HEALTH_LABELS[state], f"{counts[state]:,}", help=strings.HEALTH_HELP[state], border=True)
    cols[-1].metric("Locations", f"{totals['locations']:,}", help=f"{totals['runs']:,} runs in all", border=True)

    pipelines = data.query(q.pipelines_overview)
    health = url_state.multiselect("Health", list(HEALTH_STATES), "health")
    shown = pipelines[pipelines["health"].isin(health)] if health else pipelines
    # One coloured label per row: a pill column renders in the browser, where a pandas Styler would
    # format every cell of every row on the server first.
    shown = shown.assign(cadence=shown["cadence_s"].map(cadence), health=shown["health"].map(lambda h: [h]))
    st.caption(strings.OVERVIEW_CAPTION)
    event = st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="overview_table",
        column_order=COLUMNS,
        column_config={
            "health": st.column_config.MultiselectColumn(
                "Health",
                options=HEALTH_STATES,
                color=[HEALTH_COLOURS[h] for h in HEALTH_STATES],
                format_func=strings.HEALTH_LABELS.get,
            ),
            "pipeline_name": st.column_config.TextColumn("Pipeline"),
            "location": st.column_config.TextColumn("Location"),
            "dataset_name": st.column_config.TextColumn("Dataset"),
            "environment": st.column_config.TextColumn("Runs in"),
            "last_success_at": st.column_config.DatetimeColumn("Last success", format="distance"),
            "last_status": st.column_config.TextColumn("Last status"),
            "last_row_count": st.column_config.NumberColumn("Rows (last load)", format="localized"),
            "recent_row_counts": st.column_config.LineChartColumn("Recent loads (rows)", width="medium"),
            "cadence": st.column_config.TextColumn("Cadence", help="The median gap between its recent loads"),
            "last_run_at": st.column_config.DatetimeColumn("Last run", format="distance"),
            "runs": st.column_config.NumberColumn("Runs", format="localized"),
            "failed_runs": st.column_config.NumberColumn("Failed", format="localized"),
            "last_error": st.column_config.TextColumn("Last error", width="large"),
        },
    )
    if shown.empty:
        st.info(strings.NO_PIPELINES if pipelines.empty else strings.NO_MATCH_PIPELINES)
    elif event and event.selection.rows:
        row = shown.iloc[event.selection.rows[0]]
        st.switch_page("pages/runs.py", query_params={"pipeline": row["pipeline_name"]})
