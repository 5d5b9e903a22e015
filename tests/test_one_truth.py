"""One truth on every page. One health model: the Overview, the Runs page, the Alerts page's "matches now",
`alerts --dry-run` and the alert evaluation agree, over a store of real dlt pipelines where every rule matches.
One PII truth: a person's decision counts wherever a dlt hint counts."""

from __future__ import annotations

import datetime as dt
import time

import dlt
import pytest

from glasspane.alerts.service import evaluate
from glasspane.governance.deletion.execute import plan_for
from glasspane.queries.pii import pii_inventory
from glasspane.store import Store
from glasspane.store.lineage import refresh_lineage
from glasspane.store.pii_decisions import DecidedColumn, record_decisions
from tests import dlt_fixtures as fx
from tests.alerting import alerts_config
from tests.conftest import clone, collect_into, rows, source
from tests.test_app_core import app
from tests.test_dashboard_pages import table

EVERY_RULE = (
    '[[alerts]]\nrule = "failed"\n\n[[alerts]]\nrule = "late"\n\n[[alerts]]\nrule = "volume"\n\n'
    '[[alerts]]\nrule = "schema"\n\n[[alerts]]\nrule = "pii"\n'
)
CHANGES_ONLY = '[[alerts]]\nrule = "schema"\n\n[[alerts]]\nrule = "pii"\n'


@pytest.fixture
def every_rule_matches(demo_store, tmp_path, monkeypatch):
    """The demo (hr_export failing; web_events with an anomalous newest load), a pipeline that
    turned late, and a new dataset with personal columns that appeared after the last evaluation."""
    store = clone(demo_store, tmp_path / "truth.lake")
    monkeypatch.delenv("RUNTIME__SLACK_INCOMING_HOOK", raising=False)
    warehouse = tmp_path / "w.duckdb"
    wh = source("wh", "duckdb", path=str(warehouse))
    orders = fx.pipeline("orders", tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), "shop")
    for start in (0, 10, 20):
        fx.run(orders, fx.users(2, start=start), load_trace=False)
    assert collect_into(store, wh).ok
    evaluate(store, alerts_config(tmp_path, CHANGES_ONLY), None)  # today's schemas become the baseline
    signups = fx.pipeline("signups", tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), "signups")
    fx.run(signups, fx.users(2), load_trace=False)  # one load: no cadence yet, so never late
    assert collect_into(store, wh).ok
    [(cadence,)] = rows(store, "SELECT cadence_s FROM pipelines WHERE pipeline_name = 'orders'")
    time.sleep(min(max(2 * cadence + 0.5, 1.0), 10))  # orders is now late by twice its cadence
    monkeypatch.setenv("GLASSPANE_CONFIG", str(tmp_path / "glasspane.toml"))
    return store, alerts_config(tmp_path, EVERY_RULE)


def test_overview_runs_alerts_page_dry_run_and_evaluation_agree(every_rule_matches, monkeypatch):
    store, config = every_rule_matches
    overview = app(store.path, monkeypatch).dataframe[0].value
    health = {name: states[0] for name, states in zip(overview["pipeline_name"], overview["health_shown"], strict=True)}
    assert health == {
        "hr_export": "failing",
        "orders": "late",
        "web_events": "anomalous",
        "crm_sync": "healthy",
        "billing_sync": "healthy",
        "signups": "healthy",
    }
    assert dict(rows(store, "SELECT pipeline_name, health FROM pipelines")) == health  # and SQL users see it
    metrics = {m.label: m.value for m in app(store.path, monkeypatch).metric}
    assert (metrics["Failing"], metrics["Late"], metrics["Anomalous"], metrics["Healthy"]) == ("1", "1", "1", "3")

    for name, state in health.items():  # the Runs page, filtered to a pipeline, states the same health
        runs = app(store.path, monkeypatch, "pages/runs.py", pipeline=name)
        label = {"failing": "Failing", "late": "Late", "anomalous": "Anomalous", "healthy": "Healthy"}[state]
        assert any(f"**{label}**" in c.value for c in runs.caption if c.value.startswith("Health of")), name

    page = app(store.path, monkeypatch, "pages/alerts.py")
    headings = [m.value for m in page.markdown if m.value.startswith("**")]
    on_page = {}
    for rule, frame in zip([h.split("**")[1] for h in headings], page.dataframe[-len(headings) :], strict=False):
        on_page[rule] = set(frame.value["subject"])
    volume = {"web_events.page_views"}
    by_health = {
        "failed": {n for n, s in health.items() if s == "failing"},
        "late": {n for n, s in health.items() if s == "late"},
        "volume": volume,
    }
    assert {p.split(".")[0] for p in volume} == {n for n, s in health.items() if s == "anomalous"}
    assert {r: on_page.get(r, set()) for r in by_health} == by_health
    assert on_page["schema"] == {"signups"} and on_page["pii"] == {"signups"}
    assert [h.split(" · ")[-1] for h in headings] == [
        "1 match now",
        "1 match now",
        "1 match now",
        "1 match now",
        "1 match now",
    ]

    def firing(alerts) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for alert in alerts:
            if alert.state == "firing":
                found.setdefault(alert.rule_name, set()).add(alert.subject)
        return found

    expected = {**by_health, "schema": {"signups"}, "pii": {"signups"}}
    dry_run = evaluate(store, config, None, dry_run=True)
    assert not dry_run.errors and firing(dry_run.alerts) == expected
    evaluation = evaluate(store, config, None)
    assert firing(evaluation.alerts) == expected
    stored = rows(store, "SELECT rule_name, list(subject ORDER BY subject) FROM alerts GROUP BY 1")
    assert {rule: set(subjects) for rule, subjects in stored} == expected


LINEAGE_TABLES = ("raw.definition_status", "raw.column_lineage", "raw.inherited_pii")


def lineage_rows(store: Store, table: str, where: str = "TRUE") -> list[tuple]:
    """A lineage table's rows (where `where` holds), in a stable order."""
    return rows(store, f"SELECT * FROM {table} WHERE {where} ORDER BY ALL")


def test_the_overview_counts_the_locations_the_locations_page_lists(every_rule_matches, monkeypatch):
    store, _ = every_rule_matches
    overview = app(store.path, monkeypatch)
    shown = {m.label: m.value for m in overview.metric}["Locations"]
    listed = table(app(store.path, monkeypatch, "pages/locations.py"), "locations_table")
    assert int(shown) == len(listed) == len(set(listed["location"])) == 4  # the demo's three and the warehouse


def test_a_confirmed_column_counts_wherever_a_hint_counts_and_not_pii_ends_the_suspicion(
    demo_store, tmp_path, monkeypatch
):
    store = clone(demo_store, tmp_path / "pii.lake")
    monkeypatch.setenv("GLASSPANE__SUBJECT_SALT", "truth-salt")
    invoices = "dataset_name = 'billing' AND table_name = 'invoices' AND column_name = 'customer_email'"
    [(warehouse,)] = rows(store, f"SELECT location FROM columns WHERE {invoices}")
    before = plan_for(store, "email", "someone@example.com")
    assert [(x.table_name, x.column_name) for x in before.lookalikes] == [("invoices", "customer_email")]
    copy = "SELECT * REPLACE ('duckdb:///elsewhere.duckdb' AS location) FROM {}"  # lineage of another location
    store.write(lambda con: [con.execute(f"INSERT INTO {t} {copy.format(t)}") for t in LINEAGE_TABLES])
    elsewhere = {table: lineage_rows(store, table, f"location <> '{warehouse}'") for table in LINEAGE_TABLES}
    assert all(elsewhere.values())

    record_decisions(
        store,
        [
            DecidedColumn(warehouse, "billing", "invoices", "customer_email", "email"),
            DecidedColumn(warehouse, "crm", "customers", "name", "name"),
        ],
        "confirmed",
        "dpo@test",
    )
    # the `columns` view, with the decision as its origin
    assert rows(store, f"SELECT pii, pii_kind, pii_origin FROM columns WHERE {invoices}") == [
        (True, "email", "decision")
    ]
    # the PII inventory
    with store.reader() as con:
        inventory = pii_inventory(con)
    confirmed = inventory[inventory["basis"] == "confirmed"]
    assert set(zip(confirmed["table_name"], confirmed["column_name"], strict=True)) == {
        ("invoices", "customer_email"),
        ("customers", "name"),
    }
    # inheritance through lineage: the demo's customer_contacts view selects the confirmed name
    inherited = rows(store, "SELECT table_name, pii_kind FROM inherited_pii WHERE column_name = 'name'")
    assert ("customer_contacts", "name") in inherited
    # a decision re-derives its own location's lineage only: the others' rows stay, and its own are what
    # deriving every location again gives
    assert {table: lineage_rows(store, table, f"location <> '{warehouse}'") for table in LINEAGE_TABLES} == elsewhere
    scoped = {table: lineage_rows(store, table, f"location = '{warehouse}'") for table in LINEAGE_TABLES}
    store.write(refresh_lineage)
    assert {table: lineage_rows(store, table, f"location = '{warehouse}'") for table in LINEAGE_TABLES} == scoped
    # the deletion plan covers the column now, and no longer calls it "not covered"
    after = plan_for(store, "email", "someone@example.com")
    assert "invoices" in {s.table_name for s in after.statements if s.dataset_name == "billing"}
    assert after.lookalikes == []

    record_decisions(store, [DecidedColumn(warehouse, "billing", "invoices", "customer_email")], "not_pii", "dpo@test")
    assert rows(store, f"SELECT pii, not_pii FROM columns WHERE {invoices}") == [(False, True)]
    cleared = plan_for(store, "email", "someone@example.com")
    assert cleared.lookalikes == [] and "invoices" not in {s.table_name for s in cleared.statements}


def test_the_pii_rule_counts_decisions_made_before_it_saw_the_columns(store, tmp_path, monkeypatch):
    monkeypatch.delenv("RUNTIME__SLACK_INCOMING_HOOK", raising=False)
    warehouse = tmp_path / "w.duckdb"
    wh = source("wh", "duckdb", path=str(warehouse))
    orders = fx.pipeline("orders", tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), "shop")
    fx.run(orders, fx.users(2), load_trace=False)
    assert collect_into(store, wh).ok
    config = alerts_config(tmp_path, '[[alerts]]\nrule = "pii"\n')
    evaluate(store, config, None)  # the baseline
    signups = fx.pipeline("signups", tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), "signups")
    fx.run(signups, fx.users(2), load_trace=False)
    assert collect_into(store, wh).ok
    [(location,)] = rows(store, "SELECT DISTINCT location FROM columns WHERE dataset_name = 'signups'")
    # on the PII page, before the next evaluation: the suspected city is not personal here
    record_decisions(store, [DecidedColumn(location, "signups", "users__addresses", "city")], "not_pii", "dpo")
    [alert] = evaluate(store, config, None, dry_run=True).alerts
    assert "users__addresses.city" not in alert.detail and "suspected" not in alert.title
    assert "users.email: tagged PII (email)" in alert.detail

    record_decisions(
        store, [DecidedColumn(location, "signups", "users__addresses", "city", "address")], "confirmed", "dpo"
    )
    [alert] = evaluate(store, config, None, dry_run=True).alerts
    assert "users__addresses.city: confirmed PII (address)" in alert.detail


def test_a_volume_alert_resolves_when_its_load_leaves_the_window_as_the_health_model_says(tmp_path, monkeypatch):
    from glasspane.alerts.rules import current_matches
    from glasspane.store import summaries

    monkeypatch.delenv("RUNTIME__SLACK_INCOMING_HOOK", raising=False)
    store = Store(tmp_path / "aged.duckdb")
    newest = dt.datetime.now(dt.UTC) - dt.timedelta(days=1) + dt.timedelta(seconds=20)  # leaves a 1-day window soon
    with store.writer() as con:
        for i, count in enumerate([1000, 1010, 990, 1005, 995, 1002, 5000]):  # the newest load spikes
            at = newest - dt.timedelta(minutes=6 - i)
            load_id = f"{at.timestamp():.6f}"
            con.execute(
                "INSERT INTO raw.runs (run_key, source, location, pipeline_name, dataset_name, schema_name, load_id, "
                "status, started_at, finished_at, is_trace_upload) VALUES (?, 's', 'loc', 'shop', 'ds', 'shop', ?, "
                "'completed', ?, ?, FALSE)",
                [f"shop/{load_id}", load_id, at, at],
            )
            con.execute(
                "INSERT INTO raw.table_counts VALUES (?, 'shop', 'orders', 's', 'loc', 'ds', ?)", [load_id, count]
            )
        summaries.refresh(con)
    config = alerts_config(tmp_path, '[[alerts]]\nrule = "volume"\nwindow_days = 1\n')

    def matches_now() -> set[str]:
        with store.reader() as con:
            return set(current_matches(con, config.rules, "http://x")["subject"])

    assert matches_now() == {"shop.orders"}
    assert [(a.subject, a.state) for a in evaluate(store, config, None).alerts] == [("shop.orders", "firing")]
    time.sleep(max(0.0, (newest + dt.timedelta(days=1) - dt.datetime.now(dt.UTC)).total_seconds()) + 1)
    assert matches_now() == set()  # no load in the window: nothing anomalous now
    [resolved] = evaluate(store, config, None).alerts  # and the evaluation agrees
    assert (resolved.subject, resolved.state) == ("shop.orders", "resolved")
    assert resolved.title == "orders in shop: no load in the last 1 days, so no anomaly now"
