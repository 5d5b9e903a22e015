"""`collect --alert` and `alerts [--dry-run]` as a user runs them; the webhook is never shown or stored."""

from __future__ import annotations

import json
import logging
import shlex

import dlt
import pytest
import yaml

from glasspane.cli.main import build_parser
from glasspane.settings import PROJECT_DIR
from glasspane.store import Store
from tests import dlt_fixtures as fx
from tests.alerting import FAST_DELIVERY, alerts_config, evaluate_now
from tests.conftest import clone, rows
from tests.slack_server import Answer, SlackServer
from tests.store_scan import find_in_store
from tests.test_cli import cli

SECRET = "T0CLI/B0CLI/cli-s3cr3t-token"


@pytest.fixture
def slack():
    server = SlackServer().start()
    yield server
    server.stop()


@pytest.fixture
def place(tmp_path):
    """A warehouse whose pipeline failed (its trace loaded, dlt's pattern) and the config that collects it."""
    warehouse = tmp_path / "w.duckdb"
    p = fx.pipeline("crm", tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), "crm")
    fx.run(p, fx.users(2))
    fx.run_failing(p, "upstream API answered 500", load_trace=True)
    config = tmp_path / "glasspane.toml"
    config.write_text(
        f'[[sources]]\nname = "wh"\nkind = "duckdb"\npath = "{warehouse}"\n\n'
        f'[[alerts]]\nrule = "failed"\n\n{FAST_DELIVERY}'
    )
    return config


def test_dry_run_prints_what_would_be_sent_and_collect_alert_sends_it(tmp_path, place, slack):
    env = {"RUNTIME__SLACK_INCOMING_HOOK": slack.url(f"/services/{SECRET}")}
    store = tmp_path / "store.duckdb"
    assert cli("collect", "--config", str(place), "--store", str(store), "--quiet").returncode == 0
    dry = cli("alerts", "--dry-run", "--json", "--config", str(place), "--store", str(store), env=env)
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert lines[0] == "alerts: 1 rules evaluated, 1 new alerts, 1 messages (dry run: nothing sent, nothing stored)"
    assert lines[1].startswith("would send: [CRITICAL] failed: crm failed in the extract step — http://localhost")
    assert json.loads(lines[2])["blocks"][0]["text"]["text"] == "🔴 Critical · failed: crm"
    assert slack.received == [] and rows(Store(store), "SELECT count(*) FROM alerts") == [(0,)]

    done = cli("collect", "--alert", "--config", str(place), "--store", str(store), "--quiet", env=env)
    assert done.returncode == 0, done.stderr
    assert "alerts: 1 rules evaluated, 1 new alerts, 1 messages, 1 delivered via webhook" in done.stdout
    assert "sent: [CRITICAL] failed: crm failed in the extract step" in done.stdout
    assert len(slack.received) == 1

    again = cli("collect", "--alert", "--config", str(place), "--store", str(store), "--quiet", env=env)
    assert "alerts: 1 rules evaluated, 0 new alerts, 0 messages" in again.stdout and len(slack.received) == 1


def test_slack_failing_never_fails_the_collect_and_the_hook_is_never_shown(tmp_path, place, slack):
    """The webhook comes from .dlt/secrets.toml; Slack echoes it back in errors; it appears nowhere."""
    project = tmp_path / "project"
    (project / ".dlt").mkdir(parents=True)
    (project / ".dlt" / "secrets.toml").write_text(f'[alerts]\nslack_webhook = "{slack.url(f"/services/{SECRET}")}"\n')
    slack.answer(*[Answer(500, f"no route to /services/{SECRET}")] * 4)
    store = tmp_path / "store.duckdb"
    env = {"DLT_PROJECT_DIR": str(project), "RUNTIME__LOG_LEVEL": "DEBUG", "RUNTIME__SLACK_INCOMING_HOOK": ""}
    done = cli("collect", "--alert", "--config", str(place), "--store", str(store), "--quiet", env=env)
    assert done.returncode == 0, done.stderr  # the sources were collected: the collect succeeded
    assert "not delivered: [CRITICAL] failed: crm" in done.stdout
    assert "HTTP 500: no route to ***" in done.stdout and "gave up after 4 attempts" in done.stdout
    assert len(slack.received) == 4 and slack.received[0].path == f"/services/{SECRET}"  # from secrets.toml
    assert find_in_store(Store(store), "HTTP 500: no route to ***") == ["raw.alerts.delivery_error"]
    assert find_in_store(Store(store), "cli-s3cr3t") == []

    retried = cli("alerts", "--config", str(place), "--store", str(store), env=env)
    assert retried.returncode == 0 and "sent: [CRITICAL] failed: crm" in retried.stdout
    for output in (done.stdout, done.stderr, retried.stdout, retried.stderr):
        assert SECRET not in output and "cli-s3cr3t" not in output
    assert find_in_store(Store(store), "cli-s3cr3t") == []


def test_sdk_debug_logging_never_carries_the_hook(tmp_path, demo_store, slack, monkeypatch, caplog):
    monkeypatch.setenv("RUNTIME__SLACK_INCOMING_HOOK", slack.url(f"/services/{SECRET}"))
    store = clone(demo_store, tmp_path / "demo.lake")
    slack.answer(Answer(429, "slow down", {"Retry-After": "0"}))
    with caplog.at_level(logging.DEBUG):
        report = evaluate_now(store, alerts_config(tmp_path, '[[alerts]]\nrule = "failed"\n'))
    assert [d.delivered for d in report.deliveries] == [True]
    assert "cli-s3cr3t" not in caplog.text


def test_a_bad_alert_rule_is_one_line_after_the_collect_it_never_blocks_and_exits_2(tmp_path, place, slack):
    place.write_text(place.read_text().replace('rule = "failed"', 'rule = "failed"\nseverity = "panic"'))
    store = tmp_path / "store.duckdb"
    env = {"RUNTIME__SLACK_INCOMING_HOOK": slack.url(f"/services/{SECRET}")}
    done = cli("collect", "--alert", "--config", str(place), "--store", str(store), "--quiet", env=env)
    assert done.returncode == 2  # a config mistake, shown to the scheduler: alerting is off until it is fixed
    assert "1 source, 2 new runs, all ok" in done.stdout  # but everything was collected
    assert rows(Store(store), "SELECT status, count(*) FROM runs GROUP BY 1 ORDER BY 1") == [
        ("completed", 1),
        ("failed", 1),
    ]
    assert done.stderr.strip() == (
        f"error: {place}: [[alerts]] rule 'failed': key 'severity': must be one of critical, warning, info "
        "(got 'panic'); alerts skipped"
    )
    assert slack.received == [] and rows(Store(store), "SELECT count(*) FROM alerts") == [(0,)]

    place.write_text(place.read_text().replace('severity = "panic"', ""))
    nowhere = tmp_path / "nowhere.duckdb"
    missing = cli("alerts", "--config", str(place), "--store", str(nowhere))
    assert missing.returncode == 2
    assert missing.stderr.strip().startswith(f"error: {nowhere}: no pane store yet: collect first")


def test_the_github_actions_example_runs_collect_with_alerts_on_a_schedule():
    workflow = yaml.safe_load((PROJECT_DIR / "examples" / "github-actions" / "glasspane-collect.yml").read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["schedule"][0]["cron"]
    job = workflow["jobs"]["collect"]
    assert job["env"]["RUNTIME__SLACK_INCOMING_HOOK"] == "${{ secrets.SLACK_INCOMING_HOOK }}"
    [command] = [s["run"] for s in job["steps"] if "collectors" in s.get("run", "")]
    words = shlex.split(command)
    assert words[:3] == ["python", "-m", "collectors"]
    args = build_parser().parse_args(words[3:])  # the CLI accepts exactly these arguments
    assert args.command == "collect" and args.alert
