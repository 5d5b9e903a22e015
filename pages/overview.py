"""Overview: every pipeline, wherever it runs, with its last run and last success."""

import streamlit as st

from glasspane.queries import pipelines as q
from glasspane.ui import components, data, shell, strings

shell.inside_app()

st.title("Overview")
with components.page_guard():
    if components.store_is_empty():
        components.empty_state()
        st.stop()
    totals = data.query(q.store_totals)
    pipelines = data.query(q.pipelines_overview)
    failing = pipelines[pipelines["last_status"] == "failed"]
    cols = st.columns(4)
    cols[0].metric("Pipelines", f"{totals['pipelines']:,}")
    cols[1].metric("Failing", f"{len(failing):,}")
    cols[2].metric("Locations", f"{totals['locations']:,}")
    cols[3].metric("Runs", f"{totals['runs']:,}")

    st.caption("Failing pipelines first. Select a row to see its runs.")
    event = st.dataframe(
        pipelines,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="overview_table",
        column_order=[
            "pipeline_name",
            "last_status",
            "location",
            "dataset_name",
            "environment",
            "last_run_at",
            "last_success_at",
            "last_row_count",
            "runs",
            "failed_runs",
            "last_error",
        ],  # fmt: skip
        column_config={
            "pipeline_name": st.column_config.TextColumn("Pipeline"),
            "last_status": st.column_config.TextColumn("Last status"),
            "location": st.column_config.TextColumn("Location"),
            "dataset_name": st.column_config.TextColumn("Dataset"),
            "environment": st.column_config.TextColumn("Runs in"),
            "last_run_at": st.column_config.DatetimeColumn("Last run", format="distance"),
            "last_success_at": st.column_config.DatetimeColumn("Last success", format="distance"),
            "last_row_count": st.column_config.NumberColumn("Rows (last load)", format="localized"),
            "runs": st.column_config.NumberColumn("Runs", format="localized"),
            "failed_runs": st.column_config.NumberColumn("Failed", format="localized"),
            "last_error": st.column_config.TextColumn("Last error", width="large"),
        },
    )
    selected = event.selection.rows if event else []
    if selected:
        row = pipelines.iloc[selected[0]]
        st.switch_page("pages/runs.py", query_params={"pipeline": row["pipeline_name"]})
    if pipelines.empty:
        st.info(strings.NO_PIPELINES)
