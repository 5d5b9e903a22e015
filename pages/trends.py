"""Row-count trends: one pipeline's table, rows per load over time, with its baseline and anomalies."""

import datetime as dt

import pandas as pd
import streamlit as st

from glasspane import access
from glasspane.anomalies import MARKS
from glasspane.formatting import literal, thousands
from glasspane.health import AnomalyRule
from glasspane.queries import trends as q
from glasspane.store.volume_marks import CLEARED, MarkedLoad, record_mark
from glasspane.ui import access as door
from glasspane.ui import charts, components, data, shell, strings, url_state

shell.inside_app()

RANGE_DAYS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365, "all": None}
RANGE_LABELS = {**strings.TIME_RANGES, "365d": "Last 365 days"}

BUTTONS = {"expected": strings.TRENDS_MARK_EXPECTED, "new normal": strings.TRENDS_MARK_NEW_NORMAL,
           CLEARED: strings.TRENDS_MARK_CLEAR}  # fmt: skip


def _mark(row: pd.Series, mark: str, who: str) -> None:
    """Store a mark on one load of the table and show the page again with it in force."""
    load = MarkedLoad(row["location"], row["dataset_name"], row["pipeline_name"], row["table_name"], row["load_id"])
    record_mark(data.current_store(), load, mark, who)
    st.session_state["trends_flash"] = strings.TRENDS_MARKED.format(load=row["load_id"], mark=mark)
    st.query_params.pop("mark", None)
    st.rerun()


def _ask_mark(points: pd.DataFrame, load_id: str, mark: str) -> None:
    """A Slack link's "Expected" or "New normal": confirm, with who, before storing the mark."""
    found = points[points["load_id"].astype(str) == load_id]
    if found.empty:
        st.warning(strings.TRENDS_MARK_NOT_FOUND.format(load=load_id))
        return
    row = found.iloc[-1]
    with st.container(border=True):
        st.markdown(strings.TRENDS_MARK_ASK.format(load=load_id, table=literal(row["table_name"]),
                                                   rows=thousands(row["row_count"]),
                                                   at=f"{row['loaded_at']:%Y-%m-%d %H:%M}", mark=mark))  # fmt: skip
        if st.button(strings.TRENDS_MARK_CONFIRM, type="primary") and (visitor := door.allow(access.MARK_LOAD)):
            _mark(row, mark, visitor.who)


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
    asked_load, asked_mark = st.query_params.get("load"), st.query_params.get("mark")
    if flash := st.session_state.pop("trends_flash", None):
        st.success(flash)
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

    if asked_mark in MARKS and asked_load:
        _ask_mark(points, asked_load, asked_mark)

    st.subheader(strings.TRENDS_ANOMALIES)
    listed = points[points["anomalous"] | points["mark"].notna() | (points["kind"] == "new normal")]
    if listed.empty:
        st.caption(strings.TRENDS_NO_ANOMALIES)
    else:
        st.caption(strings.TRENDS_ANOMALIES_CAPTION)
        listed = listed.sort_values("loaded_at", ascending=False)
        event = st.dataframe(
            listed, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
            key="anomalies_table",
            column_order=["loaded_at", "row_count", "kind", "baseline", "lower", "upper", "season", "mark",
                          "marked_by", "marked_at", "load_id"],
            column_config={
                "loaded_at": st.column_config.DatetimeColumn("Loaded", format="YYYY-MM-DD HH:mm"),
                "row_count": st.column_config.NumberColumn("Rows", format="localized"),
                "kind": st.column_config.TextColumn("Kind"),
                "baseline": st.column_config.NumberColumn("Baseline", format="localized"),
                "lower": st.column_config.NumberColumn("Band from", format="localized"),
                "upper": st.column_config.NumberColumn("Band to", format="localized"),
                "season": st.column_config.TextColumn("Compared with"),
                "mark": st.column_config.TextColumn("Mark"),
                "marked_by": st.column_config.TextColumn("Marked by"),
                "marked_at": st.column_config.DatetimeColumn("Marked", format="YYYY-MM-DD HH:mm"),
                "load_id": st.column_config.TextColumn("Load id"),
            },
        )  # fmt: skip
        chosen = listed.iloc[event.selection.rows] if event and event.selection.rows else listed.iloc[0:0]
        _, *buttons = st.columns([3, 1, 1, 1], vertical_alignment="bottom")
        picked = None
        for place, (mark, label) in zip(buttons, BUTTONS.items(), strict=True):
            if place.button(label, key=f"mark_{mark}", width="stretch"):
                picked = mark
        if picked and chosen.empty:
            st.warning(strings.TRENDS_MARK_SELECT_FIRST)
        elif picked and (visitor := door.allow(access.MARK_LOAD)) is not None:
            _mark(chosen.iloc[0], picked, visitor.who)
    count = len(table_names)
    st.caption(
        f"{literal(pipeline)} loads {thousands(count)} {'table' if count == 1 else 'tables'}; pick another above."
    )
