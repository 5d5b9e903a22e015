"""Overview sections: the health counts, and every pipeline with what a reader must see first."""

from __future__ import annotations

import streamlit as st

from glasspane.formatting import cadence
from glasspane.pipeline_health import HEALTH_STATES, count_by_health
from glasspane.queries import pipelines as q
from glasspane.ui import data, strings, url_state
from glasspane.ui.tables import Col, show

PIPELINES = {
    "health": Col("Health", "health"),
    "pipeline_name": Col("Pipeline"),
    "location": Col("Location", "location", help=strings.LOCATION_HELP),
    "last_success_at": Col("Last success", "ago"),
    "last_row_count": Col("Rows", "count", help=strings.OVERVIEW_ROWS_HELP),
    "recent_row_counts": Col("Recent loads", "spark", help=strings.SPARK_HELP),
    "last_error": Col("Last error", "error", width=170),
}


def health_counts() -> None:
    """One metric per health state (of the pipelines the table below lists), and the number of locations."""
    totals = data.query(q.store_totals)
    counts = count_by_health(data.query(q.pipelines_overview)["health"])
    cols = st.columns(len(HEALTH_STATES) + 1)
    for col, state in zip(cols, HEALTH_STATES, strict=False):
        col.metric(strings.HEALTH_LABELS[state], f"{counts[state]:,}", help=strings.HEALTH_HELP[state], border=True)
    runs = strings.OVERVIEW_RUNS.format(runs=f"{totals['runs']:,}")
    cols[-1].metric("Locations", f"{totals['locations']:,}", help=runs, border=True)


def pipelines_table() -> None:
    """Every pipeline, failing, late and anomalous first; a selected row opens its runs."""
    pipelines = data.query(q.pipelines_overview)
    health = url_state.multiselect("Health", list(HEALTH_STATES), "health")
    shown = pipelines[pipelines["health"].isin(health)] if health else pipelines
    shown = shown.assign(cadence=shown["cadence_s"].map(cadence))
    st.caption(strings.OVERVIEW_CAPTION)
    event = show(shown, PIPELINES, key="overview_table", select="single-row")
    if shown.empty:
        st.info(strings.NO_PIPELINES if pipelines.empty else strings.NO_MATCH_PIPELINES)
    elif event and event.selection.rows:
        row = shown.iloc[event.selection.rows[0]]
        st.switch_page("pages/runs.py", query_params={"pipeline": row["pipeline_name"]})
