"""The Alerts page in Streamlit's AppTest: the alerts, their filters from the URL, the rules and their matches."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.alerting import alerts_config, evaluate_now
from tests.conftest import clone, rows
from tests.test_app_core import app

PAGE = "pages/alerts.py"
RULES = '[[alerts]]\nrule = "failed"\n\n[[alerts]]\nname = "stale"\nrule = "late"\nmax_age = "1s"\nseverity = "info"\n'


@pytest.fixture
def alerted(demo_store, tmp_path, monkeypatch):
    """A copy of the demo store after one evaluation (no Slack configured), and its config in force."""
    store = clone(demo_store, tmp_path / "alerted.lake")
    monkeypatch.delenv("RUNTIME__SLACK_INCOMING_HOOK", raising=False)
    config = alerts_config(tmp_path, RULES)
    monkeypatch.setenv("GLASSPANE_CONFIG", str(tmp_path / "glasspane.toml"))
    report = evaluate_now(store, config)
    assert len(report.alerts) == 4
    return store, report


def test_lists_every_alert_and_each_rule_with_what_it_matches_now(alerted, monkeypatch):
    store, _ = alerted
    at = app(store.path, monkeypatch, PAGE)
    table = at.dataframe[0].value
    assert sorted(zip(table["rule_name"], table["subject"], strict=True)) == [
        ("failed", "hr_export"),
        ("stale", "billing_sync"),
        ("stale", "crm_sync"),
        ("stale", "web_events"),
    ]
    assert set(table["delivery"]) == {"not_sent"}
    assert "4 new alerts, 0 messages, 0 delivered (no Slack destination configured)" in at.caption[0].value
    headings = [m.value for m in at.markdown if m.value.startswith("**")]
    assert headings == ["**failed** · critical · 1 match now", "**stale** · late · info · 3 matches now"]
    matches = at.dataframe[1].value
    assert list(matches["subject"]) == ["hr_export"]
    assert matches["link"].iloc[0].startswith("http://localhost:8501/runs?")


def test_filters_and_the_selected_alert_come_from_the_url(alerted, monkeypatch):
    store, _ = alerted
    [(alert_id,)] = rows(store, "SELECT alert_id FROM alerts WHERE rule_name = 'failed'")
    at = app(store.path, monkeypatch, PAGE, rule="failed", alert=alert_id)
    assert at.multiselect(key="url_rule").value == ["failed"]
    offered = {key: at.multiselect(key=f"url_{key}").options for key in ("rule", "severity", "delivery")}
    assert offered == {"rule": ["failed", "stale"], "severity": ["critical", "info"], "delivery": ["not_sent"]}
    assert list(at.dataframe[0].value["subject"]) == ["hr_export"]
    assert at.subheader[0].value == "hr\\_export failed in the extract step"
    assert "401 Unauthorized" in at.code[0].value
    facts = dict(at.dataframe[1].value.itertuples(index=False))
    assert facts["Failed step"] == "extract" and facts["Pipeline"] == "hr_export"
    assert "no Slack destination configured" in at.warning[0].value


def test_the_link_of_a_slack_summary_shows_that_evaluation_only(alerted, monkeypatch):
    store, report = alerted
    at = app(store.path, monkeypatch, PAGE, evaluation=report.evaluation_id, range="24h")
    assert any("one evaluation" in i.value for i in at.info)
    assert len(at.dataframe[0].value) == 4
    other = app(store.path, monkeypatch, PAGE, evaluation="not-an-evaluation")
    assert any("No alerts match these filters" in i.value for i in other.info)


def test_an_alerts_deep_link_opens_the_exact_run(alerted, monkeypatch):
    store, _ = alerted
    [(link, error)] = rows(
        store,
        "SELECT a.link, r.error FROM alerts a JOIN runs r ON r.pipeline_name = a.subject "
        "AND r.status = 'failed' WHERE a.rule_name = 'failed' ORDER BY r.started_at DESC "
        "LIMIT 1",
    )
    url = urlsplit(link)
    assert url.path == "/runs"
    at = app(store.path, monkeypatch, "pages/runs.py", **dict(parse_qsl(url.query)))
    assert set(at.dataframe[0].value["pipeline_name"]) == {"hr_export"}
    assert [c.value for c in at.code] == [error]  # the failed run's error, as the alert said


def test_before_any_evaluation_the_page_says_how_alerts_are_raised(demo_store, tmp_path, monkeypatch):
    store = clone(demo_store, tmp_path / "fresh.lake")
    monkeypatch.setenv("GLASSPANE_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    at = app(store.path, monkeypatch, PAGE)
    assert "Not evaluated yet" in at.caption[0].value
    assert any("No alerts yet" in i.value for i in at.info)
    headings = [m.value for m in at.markdown if m.value.startswith("**")]
    assert [h.split(" · ")[0] for h in headings] == ["**failed**", "**late**", "**volume**", "**schema**", "**pii**"]


def test_a_broken_rule_config_is_one_line_and_the_alerts_still_show(alerted, tmp_path, monkeypatch):
    store, _ = alerted
    (tmp_path / "glasspane.toml").write_text('[[alerts]]\nrule = "sometimes"\n')
    at = app(store.path, monkeypatch, PAGE)
    assert len(at.dataframe[0].value) == 4
    [error] = at.error
    assert "[[alerts]] #1: key 'rule': must be one of failed, late, volume, schema, pii" in error.value
