"""Alerts end to end: real dlt pipelines, real collects, a real HTTP stand-in for Slack on loopback."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import dlt
import pytest

from glasspane.alerts.messages import Message
from glasspane.alerts.rule_config import AlertSettings
from glasspane.alerts.slack import SlackDestination, SlackSender
from glasspane.store import Store
from tests import dlt_fixtures as fx
from tests.alerting import alerts_config, block_kit, evaluate_now
from tests.conftest import clone, collect_into, rows, source
from tests.slack_server import Answer, SlackServer

SECRET = "T0GLASS/B0PANE/s3cr3t-webhook-token"


@pytest.fixture
def slack():
    server = SlackServer().start()
    yield server
    server.stop()


@pytest.fixture
def hook(slack, monkeypatch) -> str:
    """Slack's incoming webhook, configured the dlt way: RUNTIME__SLACK_INCOMING_HOOK."""
    url = slack.url(f"/services/{SECRET}")
    monkeypatch.setenv("RUNTIME__SLACK_INCOMING_HOOK", url)
    return url


@pytest.fixture
def demo_copy(demo_store, tmp_path) -> Store:
    """A private copy of the demo store (hr_export's newest run failed; the others loaded today)."""
    return clone(demo_store, tmp_path / "demo.lake")


def header(message: dict) -> str:
    return message["blocks"][0]["text"]["text"]


def button_url(message: dict) -> str:
    [url] = [e["url"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    return url


def alert_rows(store: Store) -> list[tuple]:
    return rows(store, "SELECT rule_name, subject, state, delivery FROM alerts ORDER BY alerted_at, state")


def test_a_failing_pipeline_alerts_once_over_three_collects_then_resolves(tmp_path, store, slack, hook):
    only_billing = '[[alerts]]\nname = "billing_only"\nrule = "failed"\npipelines = ["billing"]\n'
    config = alerts_config(tmp_path, '[[alerts]]\nrule = "failed"\n\n' + only_billing)
    p = fx.pipeline("crm", tmp_path / "pipelines", dlt.destinations.duckdb(str(tmp_path / "w.duckdb")), "crm")
    folder = source("local", "pipelines_dir", path=str(tmp_path / "pipelines"))
    fx.run(p, fx.users(2), load_trace=False)
    collect_into(store, folder)
    assert evaluate_now(store, config).alerts == []  # healthy: quiet

    fx.run_failing(p, "upstream API answered 500")
    for _ in range(3):
        collect_into(store, folder)
        evaluate_now(store, config)
    fx.run_failing(p, "upstream API answered 503")  # another failed run while still failing
    collect_into(store, folder)
    evaluate_now(store, config)
    [fired] = slack.messages()
    assert header(fired) == "🔴 Critical · failed: crm"
    assert "crm failed in the extract step" in fired["text"]

    fx.run(p, fx.users(2), load_trace=False)
    collect_into(store, folder)
    evaluate_now(store, config)
    [_, resolved] = slack.messages()
    assert header(resolved) == "✅ Resolved · failed: crm"
    block_kit(resolved)
    assert alert_rows(store) == [("failed", "crm", "firing", "delivered"), ("failed", "crm", "resolved", "delivered")]
    [(resolved_at,)] = rows(store, "SELECT resolved_at FROM alerts WHERE state = 'firing'")
    assert resolved_at is not None


def test_the_message_is_block_kit_with_the_facts_and_a_deep_link_to_the_failed_run(tmp_path, demo_copy, slack, hook):
    config = alerts_config(
        tmp_path,
        '[alerting]\ndashboard_url = "https://glasspane.example.com/"\n\n[[alerts]]\nrule = "failed"\n',
        fast=False,
    )
    evaluate_now(demo_copy, config)
    [message] = slack.messages()
    blocks = block_kit(message)
    assert [b.type for b in blocks] == ["header", "section", "section", "section", "actions", "context"]
    assert header(message) == "🔴 Critical · failed: hr_export"
    fields = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in message["blocks"][3]["fields"]}
    assert fields["*Pipeline*"] == "hr_export" and fields["*Failed step*"] == "extract"
    [(environment,)] = rows(demo_copy, "SELECT environment FROM pipelines WHERE pipeline_name = 'hr_export'")
    assert fields["*Dataset*"] == "hr" and fields["*Runs in*"] == environment
    assert "HR API answered 401 Unauthorized" in message["blocks"][2]["text"]["text"]  # the error's first line
    [(run_key,)] = rows(demo_copy, "SELECT last_run_key FROM pipelines WHERE pipeline_name = 'hr_export'")
    url = urlsplit(button_url(message))
    assert (url.scheme, url.netloc, url.path) == ("https", "glasspane.example.com", "/runs")
    assert parse_qs(url.query) == {"pipeline": ["hr_export"], "run": [run_key]}
    assert message["text"].startswith("[CRITICAL] failed: hr_export failed in the extract step — https://")
    [(link,)] = rows(demo_copy, "SELECT link FROM alerts")
    assert link == button_url(message)


def test_late_by_a_fixed_max_age_and_by_the_learned_cadence(tmp_path, store, slack, hook):
    config = alerts_config(
        tmp_path,
        '[[alerts]]\nname = "late_fixed"\nrule = "late"\nmax_age = "2s"\n\n'
        '[[alerts]]\nname = "late_cadence"\nrule = "late"\nfactor = 2\n\n'
        '[[alerts]]\nname = "late_patient"\nrule = "late"\nfactor = 1000\n',
    )
    warehouse = tmp_path / "w.duckdb"
    p = fx.pipeline("orders", tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), "shop")
    for start in (0, 10, 20):
        fx.run(p, fx.users(2, start=start), load_trace=False)
    collect_into(store, source("wh", "duckdb", path=str(warehouse)))
    [(cadence,)] = rows(store, "SELECT cadence_s FROM pipelines")
    time.sleep(min(max(2 * cadence + 0.5, 2.2), 10))
    report = evaluate_now(store, config)
    assert sorted(a.rule_name for a in report.alerts) == ["late_cadence", "late_fixed"]
    messages = {header(m): m for m in slack.messages()}
    assert set(messages) == {"🟠 Warning · late_fixed: orders", "🟠 Warning · late_cadence: orders"}
    cadence_facts = str(messages["🟠 Warning · late_cadence: orders"]["blocks"])
    assert "Expected*\\nevery" in cadence_facts and "(late after 2 ×)" in cadence_facts
    assert "within 2 s" in str(messages["🟠 Warning · late_fixed: orders"]["blocks"])

    assert evaluate_now(store, config).alerts == []  # still late: no second alert

    fx.run(p, fx.users(2, start=30), load_trace=False)  # it loads again, and the team relaxes the rules
    collect_into(store, source("wh", "duckdb", path=str(warehouse)))
    relaxed = alerts_config(
        tmp_path,
        '[[alerts]]\nname = "late_fixed"\nrule = "late"\nmax_age = "1h"\n\n'
        '[[alerts]]\nname = "late_cadence"\nrule = "late"\nfactor = 1000\n',
    )
    resolved = evaluate_now(store, relaxed).alerts
    assert sorted((a.rule_name, a.state, a.title) for a in resolved) == [
        ("late_cadence", "resolved", "orders is on time again"),
        ("late_fixed", "resolved", "orders is on time again"),
    ]


def test_a_volume_spike_alerts_per_table_and_resolves_when_loads_are_normal_again(tmp_path, store, slack, hook):
    config = alerts_config(tmp_path, '[[alerts]]\nrule = "volume"\ntables = ["users"]\n')
    warehouse = tmp_path / "w.duckdb"
    p = fx.pipeline("crm", tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), "crm")
    wh = source("wh", "duckdb", path=str(warehouse))
    for start in range(0, 50, 10):  # five ordinary loads of 3 users (and 3 nested addresses)
        fx.run(p, fx.users(3, start=start))
    collect_into(store, wh)
    assert evaluate_now(store, config).alerts == []  # the first evaluation judges each table's newest load
    fx.run(p, fx.users(40, start=100))
    collect_into(store, wh)
    report = evaluate_now(store, config)
    assert sorted((a.subject, a.state) for a in report.alerts) == [
        ("crm.users", "firing"),
        ("crm.users__addresses", "firing"),  # a `tables` scope covers nested child tables
    ]
    users = next(m for m in slack.messages() if header(m) == "🟠 Warning · volume: crm.users")
    block_kit(users)
    assert "*Rows in this load*\n40" in str(users["blocks"]) or "Rows in this load*\\n40" in str(users["blocks"])
    urls = [e["url"] for b in users["blocks"] if b["type"] == "actions" for e in b["elements"]]
    opened, expected, new_normal = (parse_qs(urlsplit(url).query) for url in urls)
    assert opened["pipeline"] == ["crm"] and opened["table"] == ["users"] and opened["load"]  # the load judged
    assert expected == {**opened, "mark": ["expected"]} and new_normal == {**opened, "mark": ["new normal"]}
    assert evaluate_now(store, config).alerts == []  # the same load is never judged twice

    fx.run(p, fx.users(3, start=200))
    collect_into(store, wh)
    report = evaluate_now(store, config)
    assert sorted((a.subject, a.state) for a in report.alerts) == [
        ("crm.users", "resolved"),
        ("crm.users__addresses", "resolved"),
    ]


def test_schema_and_pii_changes_alert_once_with_what_changed(tmp_path, store, slack, hook):
    config = alerts_config(tmp_path, '[[alerts]]\nrule = "schema"\n\n[[alerts]]\nrule = "pii"\n')
    warehouse = tmp_path / "w.duckdb"
    p = fx.pipeline("crm", tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), "crm")
    wh = source("wh", "duckdb", path=str(warehouse))
    fx.run(p, fx.users(2), load_trace=False)
    collect_into(store, wh)
    assert evaluate_now(store, config).alerts == []  # today's schema is the baseline

    @dlt.resource(name="invoices", columns={"tax_id": {"x-annotation-pii": "national_id"}})
    def invoices():
        yield {"id": 1, "amount": 10.5, "customer_email": "a@example.com", "tax_id": "X1"}

    fx.run(p, fx.users(2, start=10, extra_column=True), load_trace=False)  # users gains `nickname`
    p.run(invoices())
    collect_into(store, wh)
    report = evaluate_now(store, config)
    assert sorted(a.rule_name for a in report.alerts) == ["pii", "schema"]
    schema = next(a for a in report.alerts if a.rule == "schema")
    assert schema.title == "Schema of crm changed: 1 tables added, 1 columns added"
    assert "table added: invoices" in schema.detail and "column added: users.nickname (text)" in schema.detail
    pii = next(a for a in report.alerts if a.rule == "pii")
    assert pii.title == "New personal data in crm: 1 tagged PII columns, 1 suspected PII columns without a hint"
    assert "invoices.customer_email: looks like email (name has the word 'email'), no PII hint" in pii.detail
    assert "invoices.tax_id: tagged PII (national_id)" in pii.detail
    assert "nickname" not in pii.detail
    assert parse_qs(urlsplit(pii.link).query) == {"dataset": ["crm"]} and urlsplit(pii.link).path == "/pii"
    for message in slack.messages():
        block_kit(message)
    assert evaluate_now(store, config).alerts == []  # each change is reported once


def test_more_alerts_than_max_messages_collapse_into_one_summary(tmp_path, demo_copy, slack, hook):
    config = alerts_config(
        tmp_path,
        '[[alerts]]\nrule = "failed"\n\n[[alerts]]\nrule = "late"\nmax_age = "1s"\n\n[alerting]\nmax_messages = 2\n',
        fast=False,
    )
    report = evaluate_now(demo_copy, config)
    assert len(report.alerts) == 4  # hr_export failed; the other three loaded more than a second ago
    [summary] = slack.messages()
    block_kit(summary)
    assert header(summary) == "🔴 4 alerts from Glasspane"
    assert summary["blocks"][1]["text"]["text"] == "*3 late · 1 failed*"
    listed = summary["blocks"][2]["text"]["text"]
    assert listed.index("failed") < listed.index("late")  # the worst first
    assert button_url(summary) == f"http://localhost:8501/alerts?evaluation={report.evaluation_id}"
    assert rows(demo_copy, "SELECT count(*), count(DISTINCT delivery) FROM alerts") == [(4, 1)]
    assert rows(demo_copy, "SELECT DISTINCT delivery FROM alerts") == [("delivered",)]


def test_5xx_and_429_are_retried_honouring_retry_after_and_the_attempts_recorded(tmp_path, demo_copy, slack, hook):
    config = alerts_config(tmp_path, '[[alerts]]\nrule = "failed"\n')
    slack.answer(Answer(500, "internal_error"), Answer(429, "rate_limited", {"Retry-After": "1"}))
    started = time.monotonic()
    report = evaluate_now(demo_copy, config)
    assert time.monotonic() - started >= 1.0  # Slack asked for a second: it got it
    assert [d.delivered for d in report.deliveries] == [True]
    assert len(slack.received) == 3
    assert slack.received[0].body == slack.received[2].body  # the same message, sent again
    assert rows(demo_copy, "SELECT delivery, attempts, delivery_error FROM alerts") == [("delivered", 3, None)]


def test_slack_down_is_recorded_and_the_alert_is_sent_at_the_next_evaluation(
    tmp_path, demo_copy, slack, hook, monkeypatch
):
    config = alerts_config(tmp_path, '[[alerts]]\nrule = "failed"\n[alerting]\nmax_attempts = 2\n', fast=False)
    slack.stop()  # nothing listens on the webhook's port any more
    report = evaluate_now(demo_copy, config)
    [delivery] = report.deliveries
    assert not delivery.delivered and delivery.redeliver and delivery.attempts == 2
    [(state, error)] = rows(demo_copy, "SELECT delivery, delivery_error FROM alerts")
    assert state == "failed"
    assert error.startswith("no answer from Slack: URLError") and "gave up after 2 attempts" in error
    assert SECRET not in error

    back = SlackServer().start()
    try:
        monkeypatch.setenv("RUNTIME__SLACK_INCOMING_HOOK", back.url(f"/services/{SECRET}"))
        again = evaluate_now(demo_copy, config)
        assert again.alerts == []  # nothing new happened
        [message] = back.messages()
        assert header(message) == "🔴 Critical · failed: hr_export"
        assert "sent again: an earlier delivery failed" in message["blocks"][-1]["elements"][0]["text"]
        assert rows(demo_copy, "SELECT delivery, attempts FROM alerts") == [("delivered", 3)]
    finally:
        back.stop()


def test_a_refusal_is_not_retried_and_a_long_retry_after_gives_up_within_the_budget(tmp_path, demo_copy, slack, hook):
    config = alerts_config(tmp_path, '[[alerts]]\nrule = "failed"\n')
    slack.answer(Answer(404, "no_service"))
    [refused] = evaluate_now(demo_copy, config).deliveries
    assert (refused.delivered, refused.attempts, refused.redeliver, refused.error) == (
        False,
        1,
        False,
        "HTTP 404: no_service",
    )
    assert evaluate_now(demo_copy, config).messages == []  # a revoked webhook is not hammered

    store = clone(demo_copy, tmp_path / "second.lake")
    with store.writer() as con:
        con.execute("DELETE FROM raw.alerts; DELETE FROM raw.alert_state; DELETE FROM raw.alert_evaluations")
    slack.answer(Answer(429, "rate_limited", {"Retry-After": "3600"}))
    started = time.monotonic()
    [limited] = evaluate_now(store, config).deliveries
    assert time.monotonic() - started < 20  # the delivery budget of FAST_DELIVERY, not Retry-After's hour
    assert not limited.delivered and limited.redeliver
    assert limited.error == "HTTP 429: rate_limited (a retry in 3600 s would pass the delivery time budget)"


def test_a_bot_token_posts_to_the_channel_through_the_web_api(slack):
    token = "xoxb-0000-secret-bot-token"
    destination = SlackDestination(token=token, channel="#data-alerts", api_url=slack.url("/api/"))
    message = Message(
        "m1",
        ("a1",),
        "[WARNING] late: orders is late",
        ({"type": "section", "text": {"type": "mrkdwn", "text": "*orders is late*"}},),
    )
    slack.answer(Answer(429, '{"ok": false, "error": "ratelimited"}', {"Retry-After": "0"}))
    [delivery] = SlackSender(destination, AlertSettings(backoff_s=0.05)).send_all([message])
    assert delivery.delivered and delivery.attempts == 2
    request = slack.received[-1]
    assert request.path == "/api/chat.postMessage"
    assert request.headers["Authorization"] == f"Bearer {token}"
    assert request.body["channel"] == "#data-alerts" and request.body["text"] == message.text
    assert request.body["blocks"] == list(message.blocks)

    slack.answer(Answer(200, '{"ok": false, "error": "channel_not_found"}'))
    [refused] = SlackSender(destination, AlertSettings(backoff_s=0.05)).send_all([message])
    assert (refused.delivered, refused.redeliver, refused.error) == (False, False, "HTTP 200: channel_not_found")


def test_without_a_destination_alerts_are_stored_with_the_reason(tmp_path, demo_copy, monkeypatch):
    monkeypatch.delenv("RUNTIME__SLACK_INCOMING_HOOK", raising=False)
    report = evaluate_now(demo_copy, alerts_config(tmp_path, '[[alerts]]\nrule = "failed"\n'))
    assert report.destination is None and len(report.alerts) == 1 and report.deliveries == []
    [(delivery, error)] = rows(demo_copy, "SELECT delivery, delivery_error FROM alerts")
    assert delivery == "not_sent" and "RUNTIME__SLACK_INCOMING_HOOK" in error


def test_two_evaluations_at_once_send_each_alert_once(tmp_path, demo_copy, slack, hook):
    config = alerts_config(tmp_path, '[[alerts]]\nrule = "failed"\n')
    slack.on_post = lambda: time.sleep(1)  # a slow Slack: the second evaluation runs while the first is sending
    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda _: evaluate_now(demo_copy, config), range(2)))
    assert sorted(len(r.alerts) for r in reports) == [0, 1]
    assert len(slack.received) == 1
    assert rows(demo_copy, "SELECT delivery FROM alerts") == [("delivered",)]


def test_scopes_pick_their_sources_pipelines_and_tables(tmp_path, demo_copy, monkeypatch):
    monkeypatch.delenv("RUNTIME__SLACK_INCOMING_HOOK", raising=False)
    config = alerts_config(
        tmp_path,
        """
[[alerts]]
name = "bucket_failures"
rule = "failed"
sources = ["demo_bucket"]

[[alerts]]
name = "warehouse_failures"
rule = "failed"
sources = ["demo_warehouse"]

[[alerts]]
name = "unknown_source"
rule = "late"
max_age = "1s"
sources = ["no_such_source"]

[[alerts]]
name = "crm_late"
rule = "late"
max_age = "1s"
pipelines = ["crm_sync"]

[[alerts]]
name = "page_views_volume"
rule = "volume"
tables = ["page_views"]

[[alerts]]
name = "employee_failures"
rule = "failed"
tables = ["employees", "invoices"]

[[alerts]]
name = "addresses_late"
rule = "late"
max_age = "1s"
tables = ["customers__addresses"]
""",
    )
    found = sorted((a.rule_name, a.subject) for a in evaluate_now(demo_copy, config).alerts)
    assert found == [
        ("addresses_late", "crm_sync"),  # the pipeline that loads the nested table; the others are late too
        ("bucket_failures", "hr_export"),  # hr_export loads into the bucket
        ("crm_late", "crm_sync"),
        ("employee_failures", "hr_export"),  # billing_sync loads invoices, and did not fail
        ("page_views_volume", "web_events.page_views"),  # today's real run loads a tenth of the usual volume
    ]  # a scope that matches no source matches nothing, not everything


def test_failed_and_late_scoped_to_tables_cover_pipelines_seen_without_row_counts(tmp_path, store, monkeypatch):
    """Without traces no row count names a pipeline's tables: the schemas its runs load do."""
    monkeypatch.delenv("RUNTIME__SLACK_INCOMING_HOOK", raising=False)
    config = alerts_config(
        tmp_path,
        '[[alerts]]\nname = "users_failed"\nrule = "failed"\ntables = ["users"]\n\n'
        '[[alerts]]\nname = "orders_late"\nrule = "late"\nmax_age = "1s"\n'
        'tables = ["orders"]\n',
    )
    warehouse = tmp_path / "w.duckdb"
    crm = fx.pipeline("crm", tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), "crm")
    shop = fx.pipeline("shop", tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), "shop")
    fx.run(crm, fx.users(2), load_trace=False)
    fx.run(shop, dlt.resource([{"id": 1}], name="orders"), load_trace=False)
    collect_into(store, source("wh", "duckdb", path=str(warehouse)))
    assert rows(store, "SELECT count(*) FROM pipeline_tables") == [(0,)]
    time.sleep(1.1)
    assert [(a.rule_name, a.subject) for a in evaluate_now(store, config).alerts] == [("orders_late", "shop")]

    fx.run_failing(crm)
    fx.run_failing(shop)
    collect_into(store, source("local", "pipelines_dir", path=str(tmp_path / "pipelines")))
    assert sorted((a.rule_name, a.subject, a.state) for a in evaluate_now(store, config).alerts) == [
        ("orders_late", "shop", "resolved"),  # it ran again (and failed): no longer late
        ("users_failed", "crm", "firing"),  # shop failed too, but loads no `users`
    ]
