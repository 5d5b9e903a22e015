"""Runs: every run across every source, filterable; a selected run's tables, steps and error."""

import datetime as dt

import streamlit as st

from glasspane.formatting import duration, literal, relative_time, thousands
from glasspane.queries import pipelines as pipeline_queries
from glasspane.queries import runs as q
from glasspane.records import VIA_TRACE, VIA_TRACE_TABLE
from glasspane.ui import charts, components, data, shell, strings, url_state

shell.inside_app()

MAX_ROWS = 1000
RANGE_DAYS = {"24h": 1, "7d": 7, "30d": 30, "90d": 90, "all": None}
BUCKETS = {"24h": (3600, "hour"), "7d": (6 * 3600, "6-hour"), "30d": (86400, "day"), "90d": (86400, "day"),
           "all": (7 * 86400, "week")}  # fmt: skip

st.title("Runs")
with components.page_guard():
    components.stop_if_empty()
    options = data.query(q.filter_options)
    cols = st.columns([2, 2, 1, 1])
    with cols[0]:
        sources = url_state.multiselect("Source", options["source"], "source")
    with cols[1]:
        pipelines = url_state.multiselect("Pipeline", options["pipeline"], "pipeline")
    with cols[2]:
        statuses = url_state.multiselect("Status", options["status"], "status")
    with cols[3]:
        period = url_state.selectbox("Time range", list(RANGE_DAYS), "range", "30d", strings.TIME_RANGES.get)
    if pipelines:  # the chosen pipelines' health, by the one model the Overview and the alerts use
        for row in data.query(pipeline_queries.health_of, pipelines=pipelines).itertuples(index=False):
            names = ", ".join(literal(t) for t in row.anomalous_tables)
            st.caption(strings.RUNS_HEALTH.format(
                pipeline=literal(row.pipeline_name), dataset=literal(row.dataset_name),
                state=strings.HEALTH_LABELS[row.health], tables=strings.RUNS_HEALTH_TABLES.format(tables=names)
                if names else "",
            ))  # fmt: skip
    days = RANGE_DAYS.get(period or "30d")
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)  # minute steps keep the cache useful
    since = now - dt.timedelta(days=days) if days else None

    runs, total = data.query(
        q.list_runs, sources=sources, pipelines=pipelines, statuses=statuses, since=since, limit=MAX_ROWS
    )
    if runs.empty:
        st.info(strings.NO_MATCH)
    else:
        bucket_s, bucket_label = BUCKETS[period or "30d"]
        timeline = data.query(q.run_timeline, bucket_s=bucket_s, sources=sources, pipelines=pipelines,
                              statuses=statuses, since=since)  # fmt: skip
        st.altair_chart(charts.runs_timeline(timeline, bucket_label.capitalize()), width="stretch")
        st.caption(strings.RUNS_TIMELINE.format(bucket=bucket_label))
        shown = f"{thousands(len(runs))} newest of {thousands(total)}" if total > len(runs) else thousands(total)
        st.caption(f"{shown} runs. {strings.RUNS_DETAIL_HINT}")
        event = st.dataframe(
            runs,
            hide_index=True,
            width="stretch",
            on_select="rerun",
            selection_mode="single-row",
            key="runs_table",
            column_order=[
                "started_at",
                "pipeline_name",
                "status",
                "row_count",
                "source",
                "location",
                "dataset_name",
                "environment",
                "failed_step",
                "error",
            ],  # fmt: skip
            column_config={
                "started_at": st.column_config.DatetimeColumn("Started", format="YYYY-MM-DD HH:mm:ss"),
                "pipeline_name": st.column_config.TextColumn("Pipeline"),
                "status": st.column_config.TextColumn("Status"),
                "row_count": st.column_config.NumberColumn("Rows", format="localized"),
                "source": st.column_config.TextColumn("Source"),
                "location": st.column_config.TextColumn("Location"),
                "dataset_name": st.column_config.TextColumn("Dataset"),
                "environment": st.column_config.TextColumn("Runs in"),
                "failed_step": st.column_config.TextColumn("Failed step"),
                "error": st.column_config.TextColumn("Error", width="large"),
            },
        )
        if event and event.selection.rows:
            url_state.set_value("run", runs.iloc[event.selection.rows[0]]["run_key"])

    selected = url_state.value("run")
    if selected:
        detail = data.query(q.run_detail, run_key=selected)
        st.divider()
        if detail is None:
            st.warning(strings.RUN_NOT_FOUND)
        else:
            run = detail["run"]
            st.subheader(f"{literal(run['pipeline_name'])} · {literal(run['status'])}")
            st.caption(f"load id {literal(run['load_id'])} · {literal(run['location'])} · seen by "
                       f"{literal(', '.join(run['seen_by']))}")  # fmt: skip
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
                    traced = {VIA_TRACE, VIA_TRACE_TABLE} & set(detail["seen_via"])
                    if traced and run["status"] == "failed":
                        reason = strings.ROWS_NONE_FAILED.format(step=literal(run["failed_step"] or "unknown"))
                    else:
                        reason = strings.ROWS_NONE_IN_TRACE if traced else strings.ROWS_NONE_NO_TRACE
                    st.caption(reason)
                else:
                    st.dataframe(
                        detail["tables"], hide_index=True, width="stretch",
                        column_config={"table_name": "Table",
                                       "row_count": st.column_config.NumberColumn("Rows", format="localized")},
                    )  # fmt: skip
            with right:
                st.markdown("**Steps**")
                if detail["steps"].empty:
                    st.caption("No step timings for this run.")
                else:
                    st.dataframe(
                        detail["steps"], hide_index=True, width="stretch",
                        column_order=["step", "started_at", "duration_s", "error"],
                        column_config={
                            "step": "Step",
                            "started_at": st.column_config.DatetimeColumn("Started", format="HH:mm:ss.SSS"),
                            "duration_s": st.column_config.NumberColumn("Seconds", format="%.2f"),
                            "error": "Error",
                        },
                    )  # fmt: skip
