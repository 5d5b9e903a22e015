"""Row-count trends sections: what to show, the trend with its baseline, its anomalies and their marks."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from glasspane import access
from glasspane.anomalies import MARKS
from glasspane.formatting import literal, plural, thousands
from glasspane.health import AnomalyRule
from glasspane.queries import trends as q
from glasspane.store.volume_marks import CLEARED, MarkedLoad, record_mark
from glasspane.ui import access as door
from glasspane.ui import charts, data, strings, url_state
from glasspane.ui.sections.filters import time_range
from glasspane.ui.tables import Col, detail, selected_row, short_location, show

BUTTONS = {
    "expected": strings.TRENDS_MARK_EXPECTED,
    "new normal": strings.TRENDS_MARK_NEW_NORMAL,
    CLEARED: strings.TRENDS_MARK_CLEAR,
}
ANOMALIES = {
    "loaded_at": Col("Loaded", "time"),
    "row_count": Col("Rows", "count"),
    "kind": Col("Kind", width=100),
    "baseline": Col("Baseline", "estimate"),
    "band": Col("Band", width=140, help=strings.TRENDS_BAND_HELP),
    "mark": Col("Mark", width=90),
    "marked_by": Col("Marked by", width=110),
    "load_id": Col("Load id", width=150),
}
LOAD_DETAIL = {
    "load_id": Col("Load id"),
    "loaded_at": Col("Loaded", "time"),
    "row_count": Col("Rows", "count"),
    "baseline": Col("Baseline", "estimate"),
    "lower": Col("Band from", "count"),
    "upper": Col("Band to", "count"),
    "robust_z": Col("Robust z"),
    "season": Col("Compared with"),
    "mark": Col("Mark"),
    "marked_by": Col("Marked by"),
    "marked_at": Col("Marked", "time"),
    "location": Col("Location", "location"),
}


def choice() -> dict | None:
    """Pipeline, table, location and time range, all kept in the URL; None when no table has row counts."""
    pipelines = data.query(q.trend_pipelines)
    if not pipelines:
        st.info(strings.TRENDS_EMPTY)
        return None
    cols = st.columns([3, 3, 4, 2])  # the time range's label fits at 1280 pixels
    with cols[0]:
        pipeline = url_state.selectbox("Pipeline", pipelines, "pipeline", pipelines[0])
    tables = data.query(q.trend_tables, pipelines=[pipeline])
    names = list(dict.fromkeys(tables["table_name"]))
    with cols[1]:
        table = url_state.selectbox("Table", names, "table", names[0] if names else None)
    here = tables[tables["table_name"] == table]
    locations = list(dict.fromkeys(here["location"]))
    with cols[2]:
        first = locations[0] if locations else None
        location = url_state.selectbox("Location", locations, "location", first, short_location)
    with cols[3]:
        _, since = time_range(("7d", "30d", "90d", "365d", "all"))
    return {"pipeline_name": pipeline, "table_name": table, "location": location, "since": since, "tables": names}


def trend(chosen: dict) -> pd.DataFrame | None:
    """The table's rows per load with its baseline band and metrics; the loads in the brushed range."""
    params = {k: chosen[k] for k in ("pipeline_name", "table_name", "location", "since")}
    points = data.query(q.volume_trend, **params)
    if points.empty:
        st.info(strings.TRENDS_NO_POINTS)
        return None
    summary = st.container()
    title = f"{chosen['pipeline_name']} · {chosen['table_name']}"
    event = st.altair_chart(charts.volume_trend(points, title), width="stretch", on_select="rerun", key="trend_chart")
    st.caption(strings.TRENDS_RULE.format(window=AnomalyRule.window_days))
    picked = charts.selected_range(event.selection if event else {})
    if picked:
        points = points[points["loaded_at"].between(*picked)]
        summary.caption(
            strings.TRENDS_IN_RANGE.format(start=f"{picked[0]:%Y-%m-%d %H:%M}", end=f"{picked[1]:%Y-%m-%d %H:%M}")
        )
    metrics = summary.columns(4)
    metrics[0].metric("Loads", thousands(len(points)), border=True)
    newest = points["row_count"].iloc[-1] if len(points) else None
    metrics[1].metric("Rows (newest load)", thousands(newest), border=True)
    metrics[2].metric("Median rows per load", thousands(points["row_count"].median()), border=True)
    metrics[3].metric("Anomalous loads", thousands(int(points["anomalous"].sum())), border=True)
    return points


def anomalies(points: pd.DataFrame) -> None:
    """The anomalous and marked loads, newest first; select one to see it whole and mark it."""
    st.subheader(strings.TRENDS_ANOMALIES)
    listed = points[points["anomalous"] | points["mark"].notna() | (points["kind"] == "new normal")]
    if listed.empty:
        st.caption(strings.TRENDS_NO_ANOMALIES)
        return
    st.caption(strings.TRENDS_ANOMALIES_CAPTION)
    listed = listed.sort_values("loaded_at", ascending=False)
    listed = listed.assign(band=[_band(lo, hi) for lo, hi in zip(listed["lower"], listed["upper"], strict=True)])
    row = selected_row(show(listed, ANOMALIES, key="anomalies_table", select="single-row"), listed)
    _, *buttons = st.columns([3, 1, 1, 1], vertical_alignment="bottom")
    picked = None
    for place, (mark, label) in zip(buttons, BUTTONS.items(), strict=True):
        if place.button(label, key=f"mark_{mark}", width="stretch"):
            picked = mark
    if picked and row is None:
        st.warning(strings.TRENDS_MARK_SELECT_FIRST)
    elif picked and (visitor := door.allow(access.MARK_LOAD)) is not None:
        _mark(row, picked, visitor.who)
    if row is not None:
        detail(row, LOAD_DETAIL)


def _band(lower: float, upper: float) -> str | None:
    """The band as one range of whole rows: '4,425 – 4,452'."""
    return None if pd.isna(lower) or pd.isna(upper) else f"{thousands(lower)} – {thousands(upper)}"


def asked_mark(points: pd.DataFrame) -> None:
    """A Slack link's "Expected" or "New normal": confirm, with who, before storing the mark."""
    load_id, mark = st.query_params.get("load"), st.query_params.get("mark")
    if mark not in MARKS or not load_id:
        return
    found = points[points["load_id"].astype(str) == load_id]
    if found.empty:
        st.warning(strings.TRENDS_MARK_NOT_FOUND.format(load=load_id))
        return
    row = found.iloc[-1]
    with st.container(border=True):
        rows, at = thousands(row["row_count"]), f"{row['loaded_at']:%Y-%m-%d %H:%M}"
        table = literal(row["table_name"])
        st.markdown(strings.TRENDS_MARK_ASK.format(load=load_id, table=table, rows=rows, at=at, mark=mark))
        if st.button(strings.TRENDS_MARK_CONFIRM, type="primary") and (visitor := door.allow(access.MARK_LOAD)):
            _mark(row, mark, visitor.who)


def _mark(row: pd.Series, mark: str, who: str) -> None:
    """Store a mark on one load of the table and show the page again with it in force."""
    load = MarkedLoad(row["location"], row["dataset_name"], row["pipeline_name"], row["table_name"], row["load_id"])
    record_mark(data.current_store(), load, mark, who)
    st.session_state["trends_flash"] = strings.TRENDS_MARKED.format(load=row["load_id"], mark=mark)
    st.query_params.pop("mark", None)
    st.rerun()


def other_tables(chosen: dict) -> None:
    """How many tables the pipeline loads; a hint to pick another only when there is another."""
    count = len(chosen["tables"])
    hint = strings.TRENDS_OTHER_TABLES if count > 1 else ""
    st.caption(f"{literal(chosen['pipeline_name'])} loads {plural(count, 'table')}.{hint}")
