"""Alerts sections: the last evaluation, the filters, every alert raised with one's facts, and each rule."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from glasspane.alerts import rules as alert_rules
from glasspane.alerts.rule_config import alert_config, duration_text
from glasspane.config import ConfigError, load_config
from glasspane.formatting import literal, plural, relative_time, thousands
from glasspane.queries import alerts as q
from glasspane.ui import data, strings, url_state
from glasspane.ui.sections.filters import time_range
from glasspane.ui.tables import Col, counted, linked_detail, show

MAX_ROWS = 500
ALERTS = {
    "alerted_at": Col("When", "time"),
    "severity": Col("Severity", "status", width=84),
    "subject": Col("Subject", width=140),
    "state": Col("State", "status", width=84),
    "delivery": Col("Delivery", "status", width=96),
    "title": Col("Alert", width=280),
    "link": Col("View", "link"),
}
MATCHES = {
    "subject": Col("Subject", width=180),
    "title": Col("What", width=420),
    "at": Col("Since", "ago"),
    "link": Col("View", "link"),
}
FACTS = {"Fact": Col("Fact", width=200), "Value": Col("Value", width=500)}


def last_evaluation() -> dict | None:
    """When the rules were last evaluated, and what that sent."""
    last = data.query(q.last_evaluation)
    if last is None:
        st.caption(strings.ALERTS_NOT_EVALUATED)
        return None
    via = f" via {last['destination']}" if last["destination"] else strings.ALERTS_NO_DESTINATION
    st.caption(
        strings.ALERTS_LAST_EVALUATION.format(
            when=relative_time(last["evaluated_at"]),
            alerts=plural(int(last["alerts"]), "new alert"),
            messages=plural(int(last["messages"]), "message"),
            delivered=thousands(last["delivered"]),
            via=via,
        )
    )
    return last


def filters() -> dict:
    """Rule, severity, state, delivery and time range, all kept in the URL; a Slack summary's evaluation."""
    evaluation = url_state.value("evaluation")
    if evaluation:
        left, right = st.columns([4, 1])
        left.info(strings.ALERTS_ONE_EVALUATION)
        if right.button(strings.ALERTS_SHOW_ALL):
            url_state.set_value("evaluation", None)
            st.rerun()
    options = data.query(q.alert_filter_options)
    cols = st.columns([2, 1, 1, 1, 1])
    chosen = {"evaluation": evaluation}
    with cols[0]:
        chosen["rules"] = url_state.multiselect("Rule", options["rule"], "rule")
    with cols[1]:
        chosen["severities"] = url_state.multiselect("Severity", options["severity"], "severity")
    with cols[2]:
        chosen["states"] = url_state.multiselect("State", options["state"], "state")
    with cols[3]:
        help_text = strings.ALERTS_DELIVERY_HELP
        chosen["deliveries"] = url_state.multiselect("Delivery", options["delivery"], "delivery", help_text)
    with cols[4]:
        _, since = time_range()
    chosen["since"] = None if evaluation else since
    return chosen


def alerts_list(chosen: dict, evaluated: bool) -> None:
    """The newest alerts matching the filters; a selected alert's facts below."""
    alerts, total = data.query(q.list_alerts, **chosen, limit=MAX_ROWS)
    event = None
    if alerts.empty:
        st.info(strings.ALERTS_NO_MATCH if evaluated else strings.ALERTS_NONE)
    else:
        st.caption(f"{counted(len(alerts), total, 'alert')}. {strings.ALERTS_DETAIL_HINT}")
        event = show(alerts, ALERTS, key="alerts_table", select="single-row")
    detail = linked_detail(
        event,
        alerts,
        "alert_id",
        "alert",
        lambda key: data.query(q.alert_detail, alert_id=key),
        strings.ALERTS_NOT_FOUND,
    )
    if detail is not None:
        alert_detail(detail)


def alert_detail(detail: dict) -> None:
    """One alert: its title, rule, state and delivery, why it was not delivered, and its facts."""
    st.subheader(literal(detail["title"]))
    st.caption(
        f"{literal(detail['severity'])} · rule {literal(detail['rule_name'])} · {literal(detail['state'])} · "
        f"{relative_time(detail['alerted_at'])} · delivery: {literal(detail['delivery'])}"
    )
    if detail["delivery_error"]:
        st.warning(detail["delivery_error"])
    if detail["detail"]:
        st.code(detail["detail"], language="text", wrap_lines=True)
    show(pd.DataFrame(detail["facts"], columns=["Fact", "Value"]), FACTS)
    if detail["link"]:
        st.link_button(strings.ALERTS_OPEN_VIEW, detail["link"])


def rules() -> None:
    """Each rule, how it is tuned, and what it matches now."""
    st.divider()
    st.subheader(strings.ALERTS_RULES)
    try:
        config = alert_config(load_config())
    except ConfigError as ex:
        st.error(strings.ALERTS_CONFIG_ERROR.format(error=ex))
        return
    if config.defaulted:
        st.caption(strings.ALERTS_RULES_DEFAULT)
    matches = data.query(alert_rules.current_matches, rules=config.rules, base_url=config.settings.dashboard_url)
    for rule in config.rules:
        found = matches[matches["rule_name"] == rule.name]
        with st.container(border=True):
            kind = f" · {rule.rule}" if rule.rule != rule.name else ""
            count = f"{len(found)} {'match' if len(found) == 1 else 'matches'}"
            st.markdown(f"**{literal(rule.name)}**{kind} · {rule.severity} · {count} now")
            quiet = f"suppression {duration_text(rule.suppress_s)}" if rule.suppress_s else "no suppression"
            resolve = ", resolve messages on" if rule.stateful and rule.notify_on_resolve else ""
            st.caption(f"{literal(rule.describe())}. {quiet.capitalize()}{resolve}.")
            if found.empty:
                st.caption(strings.ALERTS_MATCHES_NONE)
            else:
                show(found, MATCHES)
