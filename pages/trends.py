"""Row-count trends: one pipeline's table, rows per load over time, with its baseline and anomalies."""

import datetime as dt

import streamlit as st

from glasspane.formatting import literal, thousands
from glasspane.health import AnomalyRule
from glasspane.queries import trends as q
from glasspane.ui import charts, components, data, shell, strings, url_state

shell.inside_app()

RANGE_DAYS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365, "all": None}
RANGE_LABELS = {**strings.TIME_RANGES, "365d": "Last 365 days"}

st.title("Row-count trends")
with components.page_guard():
    components.stop_if_empty()
    pipelines = data.query(q.trend_pipelines)
    if not pipelines:
        st.info(strings.TRENDS_EMPTY)
        st.stop()
    cols = st.columns([2, 2, 2, 1])
    with cols[0]:
        pipeline = url_state.selectbox("Pipeline", pipelines, "pipeline", pipelines[0])
    tables = data.query(q.trend_tables, pipelines=[pipeline])
    table_names = list(dict.fromkeys(tables["table_name"]))
    with cols[1]:
        table = url_state.selectbox("Table", table_names, "table", table_names[0] if table_names else None)
    here = tables[tables["table_name"] == table]
    locations = list(dict.fromkeys(here["location"]))
    with cols[2]:
        location = url_state.selectbox("Location", locations, "location", locations[0] if locations else None)
    with cols[3]:
        period = url_state.selectbox("Time range", list(RANGE_DAYS), "range", "90d", RANGE_LABELS.get)
    days = RANGE_DAYS.get(period or "90d")
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    since = now - dt.timedelta(days=days) if days else None

    points = data.query(q.volume_trend, pipeline_name=pipeline, table_name=table, location=location, since=since)
    if points.empty:
        st.info(strings.TRENDS_NO_POINTS)
        st.stop()
    summary = st.container()
    event = st.altair_chart(charts.volume_trend(points, f"{pipeline} · {table}"), width="stretch",
                            on_select="rerun", key="trend_chart")  # fmt: skip
    st.caption(strings.TRENDS_RULE.format(window=AnomalyRule.window_days))
    picked = charts.selected_range(event.selection if event else {})
    if picked:
        points = points[points["loaded_at"].between(*picked)]
        summary.caption(strings.TRENDS_IN_RANGE.format(start=f"{picked[0]:%Y-%m-%d %H:%M}",
                                                       end=f"{picked[1]:%Y-%m-%d %H:%M}"))  # fmt: skip
    anomalies = points[points["anomalous"]]
    metrics = summary.columns(4)
    metrics[0].metric("Loads", thousands(len(points)), border=True)
    metrics[1].metric("Rows (newest load)", thousands(points["row_count"].iloc[-1] if len(points) else None),
                      border=True)  # fmt: skip
    metrics[2].metric("Median rows per load", thousands(points["row_count"].median()), border=True)
    metrics[3].metric("Anomalous loads", thousands(len(anomalies)), border=True)

    st.subheader(strings.TRENDS_ANOMALIES)
    if anomalies.empty:
        st.caption(strings.TRENDS_NO_ANOMALIES)
    else:
        st.dataframe(
            anomalies.sort_values("loaded_at", ascending=False), hide_index=True, width="stretch",
            column_order=["loaded_at", "row_count", "baseline", "lower", "upper", "robust_z", "load_id"],
            column_config={
                "loaded_at": st.column_config.DatetimeColumn("Loaded", format="YYYY-MM-DD HH:mm"),
                "row_count": st.column_config.NumberColumn("Rows", format="localized"),
                "baseline": st.column_config.NumberColumn("Baseline (median)", format="localized"),
                "lower": st.column_config.NumberColumn("Band from", format="localized"),
                "upper": st.column_config.NumberColumn("Band to", format="localized"),
                "robust_z": st.column_config.NumberColumn("Robust z", format="%.1f"),
                "load_id": st.column_config.TextColumn("Load id"),
            },
        )  # fmt: skip
    count = len(table_names)
    st.caption(
        f"{literal(pipeline)} loads {thousands(count)} {'table' if count == 1 else 'tables'}; pick another above."
    )
