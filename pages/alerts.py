"""Alerts: every alert raised, filterable from the URL; each rule and what it matches now."""

import datetime as dt

import pandas as pd
import streamlit as st

from glasspane.alerts import rules as alert_rules
from glasspane.alerts.rule_config import alert_config, duration_text
from glasspane.config import ConfigError, load_config
from glasspane.formatting import literal, relative_time, thousands
from glasspane.queries import alerts as q
from glasspane.ui import components, data, shell, strings, url_state

shell.inside_app()

MAX_ROWS = 500
RANGE_DAYS = {"24h": 1, "7d": 7, "30d": 30, "90d": 90, "all": None}

st.title("Alerts")
with components.page_guard():
    last = data.query(q.last_evaluation)
    if last is None:
        st.caption(strings.ALERTS_NOT_EVALUATED)
    else:
        via = f" via {last['destination']}" if last["destination"] else " (no Slack destination configured)"
        st.caption(strings.ALERTS_LAST_EVALUATION.format(
            when=relative_time(last["evaluated_at"]), alerts=thousands(last["alerts"]),
            messages=thousands(last["messages"]), delivered=thousands(last["delivered"]), via=via,
        ))  # fmt: skip

    evaluation = url_state.value("evaluation")
    if evaluation:
        left, right = st.columns([4, 1])
        left.info(strings.ALERTS_ONE_EVALUATION)
        if right.button(strings.ALERTS_SHOW_ALL):
            url_state.set_value("evaluation", None)
            st.rerun()
    options = data.query(q.alert_filter_options)
    cols = st.columns([2, 1, 1, 1, 1])
    with cols[0]:
        chosen_rules = url_state.multiselect("Rule", options["rule"], "rule")
    with cols[1]:
        severities = url_state.multiselect("Severity", options["severity"], "severity")
    with cols[2]:
        states = url_state.multiselect("State", options["state"], "state")
    with cols[3]:
        deliveries = url_state.multiselect("Delivery", options["delivery"], "delivery", strings.ALERTS_DELIVERY_HELP)
    with cols[4]:
        period = url_state.selectbox("Time range", list(RANGE_DAYS), "range", "30d", strings.TIME_RANGES.get)
    days = RANGE_DAYS.get(period or "30d")
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    since = now - dt.timedelta(days=days) if days and not evaluation else None

    alerts, total = data.query(
        q.list_alerts, rules=chosen_rules, severities=severities, states=states, deliveries=deliveries,
        evaluation=evaluation, since=since, limit=MAX_ROWS,
    )  # fmt: skip
    if alerts.empty:
        st.info(strings.ALERTS_NONE if last is None else strings.ALERTS_NO_MATCH)
    else:
        shown = f"{thousands(len(alerts))} newest of {thousands(total)}" if total > len(alerts) else thousands(total)
        st.caption(f"{shown} alerts. Select one to see its facts.")
        event = st.dataframe(
            alerts,
            hide_index=True,
            width="stretch",
            on_select="rerun",
            selection_mode="single-row",
            key="alerts_table",
            column_order=[
                "alerted_at",
                "severity",
                "rule_name",
                "subject",
                "state",
                "delivery",
                "title",
                "delivery_error",
                "resolved_at",
                "link",
            ],  # fmt: skip
            column_config={
                "alerted_at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm"),
                "severity": st.column_config.TextColumn("Severity"),
                "rule_name": st.column_config.TextColumn("Rule"),
                "state": st.column_config.TextColumn("State"),
                "subject": st.column_config.TextColumn("Subject"),
                "title": st.column_config.TextColumn("Alert", width="large"),
                "delivery": st.column_config.TextColumn("Delivery"),
                "delivery_error": st.column_config.TextColumn("Why not delivered"),
                "resolved_at": st.column_config.DatetimeColumn("Resolved", format="distance"),
                "link": st.column_config.LinkColumn("View", display_text="open"),
            },
        )
        if event and event.selection.rows:
            url_state.set_value("alert", alerts.iloc[event.selection.rows[0]]["alert_id"])

    selected = url_state.value("alert")
    if selected:
        detail = data.query(q.alert_detail, alert_id=selected)
        st.divider()
        if detail is None:
            st.warning(strings.ALERTS_NOT_FOUND)
        else:
            st.subheader(f"{literal(detail['title'])}")
            st.caption(f"{literal(detail['severity'])} · rule {literal(detail['rule_name'])} · "
                       f"{literal(detail['state'])} · {relative_time(detail['alerted_at'])} · "
                       f"delivery: {literal(detail['delivery'])}")  # fmt: skip
            if detail["delivery_error"]:
                st.warning(detail["delivery_error"])
            if detail["detail"]:
                st.code(detail["detail"], language="text", wrap_lines=True)
            st.dataframe(pd.DataFrame(detail["facts"], columns=["Fact", "Value"]), hide_index=True, width="stretch")
            if detail["link"]:
                st.link_button("Open the view this alert is about", detail["link"])

    st.divider()
    st.subheader(strings.ALERTS_RULES)
    try:
        config = alert_config(load_config())
    except ConfigError as ex:
        st.error(strings.ALERTS_CONFIG_ERROR.format(error=ex))
        st.stop()
    if config.defaulted:
        st.caption(strings.ALERTS_RULES_DEFAULT)
    matches = data.query(alert_rules.current_matches, rules=config.rules, base_url=config.settings.dashboard_url)
    for rule in config.rules:
        found = matches[matches["rule_name"] == rule.name]
        with st.container(border=True):
            kind = f" · {rule.rule}" if rule.rule != rule.name else ""
            st.markdown(f"**{literal(rule.name)}**{kind} · {rule.severity} · "
                        f"{len(found)} {'match' if len(found) == 1 else 'matches'} now")  # fmt: skip
            quiet = f"suppression {duration_text(rule.suppress_s)}" if rule.suppress_s else "no suppression"
            resolve = ", resolve messages on" if rule.stateful and rule.notify_on_resolve else ""
            st.caption(f"{literal(rule.describe())}. {quiet.capitalize()}{resolve}.")
            if found.empty:
                st.caption(strings.ALERTS_MATCHES_NONE)
            else:
                st.dataframe(
                    found.drop(columns=["rule_name"]), hide_index=True, width="stretch",
                    column_config={
                        "subject": st.column_config.TextColumn("Subject"),
                        "title": st.column_config.TextColumn("What", width="large"),
                        "at": st.column_config.DatetimeColumn("Since", format="distance"),
                        "link": st.column_config.LinkColumn("View", display_text="open"),
                    },
                )  # fmt: skip
