"""Runs sections: the filters, the chosen pipelines' health, the timeline, the list and a run's detail."""

from __future__ import annotations

import streamlit as st

from glasspane.formatting import cadence, duration, literal, plural, relative_time, thousands
from glasspane.queries import pipelines as pipeline_queries
from glasspane.queries import runs as q
from glasspane.records import VIA_TRACE, VIA_TRACE_TABLE
from glasspane.ui import charts, data, strings, url_state
from glasspane.ui.sections.filters import time_range
from glasspane.ui.tables import Col, counted, linked_detail, show

MAX_ROWS = 1000
BUCKETS = {
    "24h": (3600, "hour"),
    "7d": (6 * 3600, "6-hour"),
    "30d": (86400, "day"),
    "90d": (86400, "day"),
    "all": (7 * 86400, "week"),
}
RUNS = {
    "started_at": Col("Started", "time"),
    "pipeline_name": Col("Pipeline"),
    "status": Col("Status", "status"),
    "row_count": Col("Rows", "count"),
    "location": Col("Location", "location", help=strings.LOCATION_HELP),
    "error": Col("Error", "error", width=200),
}
TABLES = {"table_name": Col("Table"), "row_count": Col("Rows", "count")}
STEPS = {
    "step": Col("Step"),
    "started_at": Col("Started", "time"),
    "duration_s": Col("Seconds", "seconds"),
    "error": Col("Error", "error"),
}


def filters() -> dict:
    """Source, pipeline, status and time range, all kept in the URL; the query parameters they make."""
    options = data.query(q.filter_options)
    cols = st.columns([2, 2, 1, 1])
    with cols[0]:
        sources = url_state.multiselect("Source", options["source"], "source")
    with cols[1]:
        pipelines = url_state.multiselect("Pipeline", options["pipeline"], "pipeline")
    with cols[2]:
        statuses = url_state.multiselect("Status", options["status"], "status")
    with cols[3]:
        period, since = time_range()
    return {"sources": sources, "pipelines": pipelines, "statuses": statuses, "since": since, "period": period}


def pipeline_health(pipelines: list[str]) -> None:
    """The chosen pipelines' health by the one model the Overview and the alerts use, with what the Overview
    leaves out: cadence, where it runs and its run counts."""
    if not pipelines:
        return
    overview = data.query(pipeline_queries.pipelines_overview)
    about = {(r.pipeline_name, r.dataset_name): r for r in overview.itertuples(index=False)}
    for row in data.query(pipeline_queries.health_of, pipelines=pipelines).itertuples(index=False):
        names = ", ".join(literal(t) for t in row.anomalous_tables)
        line = strings.RUNS_HEALTH.format(
            pipeline=literal(row.pipeline_name),
            dataset=literal(row.dataset_name),
            state=strings.HEALTH_LABELS[row.health],
            tables=strings.RUNS_HEALTH_TABLES.format(tables=names) if names else "",
        )
        if (facts := about.get((row.pipeline_name, row.dataset_name))) is not None:
            line += strings.RUNS_HEALTH_FACTS.format(
                cadence=cadence(facts.cadence_s),
                environment=literal(facts.environment),
                runs=plural(int(facts.runs or 0), "run"),
                failed=thousands(facts.failed_runs),
            )
        st.caption(line)


def runs_list(chosen: dict) -> None:
    """The timeline and the newest runs matching the filters; a selected run's detail below."""
    params = {k: chosen[k] for k in ("sources", "pipelines", "statuses", "since")}
    runs, total = data.query(q.list_runs, **params, limit=MAX_ROWS)
    event = None
    if runs.empty:
        st.info(strings.NO_MATCH)
    else:
        bucket_s, bucket_label = BUCKETS[chosen["period"]]
        timeline = data.query(q.run_timeline, bucket_s=bucket_s, **params)
        st.altair_chart(charts.runs_timeline(timeline, bucket_label.capitalize()), width="stretch")
        st.caption(strings.RUNS_TIMELINE.format(bucket=bucket_label))
        st.caption(f"{counted(len(runs), total, 'run')}. {strings.RUNS_DETAIL_HINT}")
        event = show(runs, RUNS, key="runs_table", select="single-row")
    detail = linked_detail(
        event, runs, "run_key", "run", lambda key: data.query(q.run_detail, run_key=key), strings.RUN_NOT_FOUND
    )
    if detail is not None:
        run_detail(detail)


def run_detail(detail: dict) -> None:
    """One run: where and when, its error in full, its rows per table and its steps."""
    run = detail["run"]
    st.subheader(f"{literal(run['pipeline_name'])} · {literal(run['status'])}")
    seen_by = literal(", ".join(run["seen_by"]))
    st.caption(f"load id {literal(run['load_id'])} · {literal(run['location'])} · seen by {seen_by}")
    metrics = st.columns(4)
    metrics[0].metric("Started", relative_time(run["started_at"]))
    elapsed = (run["finished_at"] - run["started_at"]).total_seconds() if run["finished_at"] else None
    metrics[1].metric("Duration", duration(elapsed))
    metrics[2].metric("Rows", thousands(run["row_count"]))
    metrics[3].metric("Runs in", run["environment"] or "unknown")
    if run["error"]:
        st.error(f"Failed in the {literal(run['failed_step'] or 'unknown')} step")
        st.code(run["error"], language="text", wrap_lines=True)
        for marker, hint in strings.ERROR_HINTS.items():
            if marker in run["error"]:
                st.info(hint)
    left, right = st.columns(2)
    with left:
        st.markdown("**Rows per table**")
        if detail["tables"].empty:
            st.caption(_why_no_rows(run, detail["seen_via"]))
        else:
            show(detail["tables"], TABLES)
    with right:
        st.markdown("**Steps**")
        if detail["steps"].empty:
            st.caption(strings.RUN_NO_STEPS)
        else:
            show(detail["steps"], STEPS)


def _why_no_rows(run: dict, seen_via: list[str]) -> str:
    traced = {VIA_TRACE, VIA_TRACE_TABLE} & set(seen_via)
    if traced and run["status"] == "failed":
        return strings.ROWS_NONE_FAILED.format(step=literal(run["failed_step"] or "unknown"))
    return strings.ROWS_NONE_IN_TRACE if traced else strings.ROWS_NONE_NO_TRACE
