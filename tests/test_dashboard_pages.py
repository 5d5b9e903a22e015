"""The dashboard pages of issue 4 in Streamlit's AppTest: populated, empty and filtered-to-nothing stores,
views restored from URL parameters, PII decisions and their export as dlt hints."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from typing import Any

import dlt
import pandas as pd
import pytest
import yaml
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from glasspane.queries import schema as schema_queries
from glasspane.settings import PROJECT_DIR
from glasspane.store import Store
from tests import signin
from tests.conftest import clone, collect_into, rows, source
from tests.test_app_core import app

PAGES = ["overview", "runs", "trends", "schema", "pii", "locations"]


def spec(at, index: int = 0) -> dict:
    """The Vega-Lite spec of one of the page's Altair charts."""
    return json.loads(at.get("vega_lite_chart")[index].proto.spec)


def chart_data(at, index: int = 0) -> pd.DataFrame:
    """The data behind one of the page's Altair charts."""
    return convert_arrow_bytes_to_pandas_df(at.get("vega_lite_chart")[index].proto.datasets[0].data.data)


KEY_COLUMNS = {  # a column that only this table of its page has
    "overview_table": "cadence",
    "trend_anomalies": "robust_z",
    "schema_versions": "version_hash",
    "schema_changes": "change",
    "schema_feed": "schema_version",
    "pii_inventory": "basis",
    "suspected_table": "reason",
    "locations_table": "collect_status",
}


def table(at, name: str) -> pd.DataFrame:
    """The data of the page's table `name` (see KEY_COLUMNS)."""
    return next(d.value for d in at.dataframe if KEY_COLUMNS[name] in d.value.columns)


@pytest.mark.parametrize("page", PAGES[1:])
def test_every_page_on_an_empty_store_says_what_to_do(tmp_path, monkeypatch, page):
    at = app(tmp_path / "empty.duckdb", monkeypatch, f"pages/{page}.py")
    assert any("The pane store is empty" in i.value for i in at.info), [i.value for i in at.info]
    assert {"Collect now", "Load demo data"} <= {b.label for b in at.button}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_the_demo_store_without_an_error(demo_store, monkeypatch, page):
    at = app(demo_store.path, monkeypatch, f"pages/{page}.py")
    assert not at.error, [e.value for e in at.error]
    assert at.dataframe and {d.proto.placeholder for d in at.dataframe} == {"—"}  # every table: — for missing


def test_overview_counts_health_and_lists_failing_first_with_sparklines(demo_store, monkeypatch):
    at = app(demo_store.path, monkeypatch)
    pipelines = table(at, "overview_table")
    health = pipelines["health_shown"].map(list)  # one coloured label per row
    states = dict(zip(pipelines["pipeline_name"], health.map(tuple), strict=True))
    assert list(health[:1]) == [["failing"]]  # failing first, then anomalous, then healthy
    assert states == {
        "hr_export": ("failing",),
        "web_events": ("anomalous",),
        "crm_sync": ("healthy",),
        "billing_sync": ("healthy",),
    }
    assert list(health.map(tuple)) == [("failing",), ("anomalous",), ("healthy",), ("healthy",)]
    crm = pipelines[pipelines["pipeline_name"] == "crm_sync"].iloc[0]
    assert crm["environment"] == "kubernetes" and crm["cadence"] == "every 1 d"
    assert len(crm["recent_row_counts"]) >= 20  # the sparkline's points: the recent loads' row counts


def test_overview_health_filter_comes_from_the_url_and_can_match_nothing(demo_store, monkeypatch):
    at = app(demo_store.path, monkeypatch, health="failing")
    assert at.multiselect(key="url_health").value == ["failing"]
    assert list(table(at, "overview_table")["pipeline_name"]) == ["hr_export"]
    at = app(demo_store.path, monkeypatch, health="anomalous")
    assert set(table(at, "overview_table")["pipeline_name"]) == {"web_events"}
    at = app(demo_store.path, monkeypatch, health="late")
    assert table(at, "overview_table").empty
    assert any("No pipeline is in this health state" in i.value for i in at.info)


def test_runs_timeline_counts_runs_per_location_and_status(demo_store, monkeypatch):
    at = app(demo_store.path, monkeypatch, "pages/runs.py", range="90d")
    counted = chart_data(at).groupby(["location", "status"])["runs"].sum().to_dict()
    recent = "SELECT location, status, count(*) FROM runs WHERE started_at >= now() - INTERVAL 90 DAY GROUP BY ALL"
    expected = rows(demo_store, recent)
    assert counted == {(loc, status): n for loc, status, n in expected}
    assert any(status == "failed" for _, status in counted)
    buckets = chart_data(at)["bucket"]
    assert (buckets == buckets.dt.floor("D")).all()  # a bucket per UTC day over 90 days


def test_runs_timeline_over_all_time_has_a_bucket_per_week_from_monday(demo_store, monkeypatch):
    at = app(demo_store.path, monkeypatch, "pages/runs.py", range="all")
    points = chart_data(at)
    assert points["runs"].sum() == rows(demo_store, "SELECT count(*) FROM runs")[0][0]
    assert set(points["bucket"].dt.day_name()) == {"Monday"}
    assert (points["bucket"] == points["bucket"].dt.floor("D")).all()


def test_trends_page_restores_its_view_from_the_url_and_marks_the_drop_to_zero(demo_store, monkeypatch):
    at = app(demo_store.path, monkeypatch, "pages/trends.py", pipeline="web_events", table="page_views", range="all")
    assert [s.value for s in at.selectbox][:2] == ["web_events", "page_views"]
    points = chart_data(at)
    zero = points[points["row_count"] == 0]
    assert len(zero) and zero["anomalous"].all()  # a drop to zero is always anomalous
    assert {"load_id", "row_count"} <= {t["field"] for t in spec(at)["layer"][3]["encoding"]["tooltip"]}
    assert spec(at)["params"][0]["select"]["type"] == "interval"  # a range can be selected
    anomalies = table(at, "trend_anomalies")
    assert 0 in set(anomalies["row_count"])
    assert {m.label: m.value for m in at.metric}["Loads"] == str(len(points))


def test_trends_page_switches_table_when_another_pipeline_is_picked(demo_store, monkeypatch):
    at = app(demo_store.path, monkeypatch, "pages/trends.py", pipeline="web_events", table="page_views")
    at.selectbox(key="url_pipeline").select("billing_sync").run()
    assert not at.exception
    assert at.selectbox(key="url_table").value == "invoices"
    assert at.query_params["table"] == "invoices"


def test_trends_page_falls_back_from_an_unknown_pipeline_in_the_url(demo_store, monkeypatch):
    at = app(demo_store.path, monkeypatch, "pages/trends.py", pipeline="no_such_pipeline")
    assert at.selectbox(key="url_pipeline").value == "billing_sync"  # the first pipeline, not an empty page
    assert len(chart_data(at))


def test_schema_page_diffs_two_versions_from_the_url(demo_store, monkeypatch):
    versions = rows(demo_store, "SELECT version FROM schema_versions WHERE dataset_name = 'billing' ORDER BY version")
    old, new = str(versions[0][0]), str(versions[-1][0])
    at = app(demo_store.path, monkeypatch, "pages/schema.py", dataset="billing", **{"from": old, "to": new})
    changes = table(at, "schema_changes")
    added = set(changes.loc[changes["change"] == "column added", "column_name"])
    assert {"customer_email", "discount"} <= added
    assert len(table(at, "schema_versions")) == len(versions)


def test_a_version_two_sources_stored_is_counted_once(demo_store):
    """The demo's working folder and its destination both store billing's versions: the history counts each
    version's columns once."""
    location, schema = rows(
        demo_store, "SELECT location, schema_name FROM schema_versions WHERE dataset_name = 'billing' LIMIT 1"
    )[0]
    stored = rows(
        demo_store,
        """SELECT version_hash, count(DISTINCT source), count(DISTINCT (table_name, column_name))
           FROM raw.schema_columns WHERE dataset_name = 'billing' AND NOT starts_with(table_name, '_dlt_')
             AND NOT starts_with(table_name, '_trace')
           GROUP BY ALL""",
    )
    assert any(sources == 2 for _, sources, _ in stored)  # the case at hand: two sources hold a version
    with demo_store.reader() as con:
        history = schema_queries.version_history(con, location, "billing", schema)
    assert dict(zip(history["version_hash"], history["columns"], strict=True)) == {h: n for h, _, n in stored}


def test_schema_page_feed_lists_new_columns_and_can_be_empty(demo_store, monkeypatch):
    at = app(demo_store.path, monkeypatch, "pages/schema.py", dataset="billing", days="7")
    feed = table(at, "schema_feed")
    assert "customer_email" in set(feed["column_name"])  # the demo's schema evolved today


def test_schema_page_with_one_version_has_nothing_to_compare(tmp_path, monkeypatch, store):
    from tests import dlt_fixtures as fx

    warehouse = tmp_path / "w.duckdb"
    fx.run(fx.pipeline("crm", tmp_path / "p", dlt.destinations.duckdb(str(warehouse)), "crm"), fx.users(2), False)
    collect_into(store, source("wh", "duckdb", path=str(warehouse)))
    at = app(store.path, monkeypatch, "pages/schema.py")
    assert any("one stored version" in c.value for c in at.caption)


def test_pii_page_lists_hinted_nested_and_inherited_pii_with_filters_from_the_url(demo_store, monkeypatch):
    at = app(demo_store.path, monkeypatch, "pages/pii.py")
    inventory = table(at, "pii_inventory")
    street = inventory[inventory["column_name"] == "street"]
    assert {"customers__addresses"} <= set(street["table_name"])
    assert set(street.loc[street["table_name"] == "customers__addresses", "root_table"]) == {"customers"}
    assert {"hint", "inherited"} <= set(inventory["basis"])
    suspected = table(at, "suspected_table")
    assert ("invoices", "customer_email") in set(zip(suspected["table_name"], suspected["column_name"], strict=True))
    assert all(suspected["reason"].str.len() > 0)
    csv = at.get("download_button")[0]
    assert csv is not None

    at = app(demo_store.path, monkeypatch, "pages/pii.py", kind="email", dataset="crm")
    filtered = table(at, "pii_inventory")
    assert set(filtered["pii_kind"]) == {"email"} and set(filtered["dataset_name"]) == {"crm"}
    at = app(demo_store.path, monkeypatch, "pages/pii.py", kind="no_such_kind")
    assert any("No PII column matches" in i.value for i in at.info)


def test_a_store_from_older_code_opens_migrated_with_its_pii_and_suspicions(demo_store, monkeypatch, tmp_path):
    older = clone(demo_store, tmp_path / "older.lake")
    with older.writer() as con:  # as a store written before the summaries existed looks
        con.execute("DELETE FROM raw.latest_columns; DELETE FROM raw.suspected_names")
        con.execute("UPDATE raw.meta SET value = 'older code' WHERE key = 'fingerprint'")
    expected = table(app(demo_store.path, monkeypatch, "pages/pii.py"), "pii_inventory")
    at = app(older.path, monkeypatch, "pages/pii.py")
    assert len(table(at, "pii_inventory")) == len(expected) > 0
    assert not table(at, "suspected_table").empty
    assert older.is_current()


def test_pii_counts_per_source_and_kind_match_the_inventory(demo_store, monkeypatch):
    at = app(demo_store.path, monkeypatch, "pages/pii.py")
    inventory = table(at, "pii_inventory")
    per_kind = chart_data(at, 1).set_index("pii_kind")["columns"].to_dict()
    assert per_kind == inventory.fillna({"pii_kind": "(no kind)"}).groupby("pii_kind").size().to_dict()


@pytest.fixture
def people(tmp_path) -> Iterator[tuple[Store, Any]]:
    """A real pipeline whose `people` table has an untagged `full_name` and a nested untagged `city`."""

    def make():
        @dlt.resource(name="people", primary_key="id")
        def people_resource():
            yield [{"id": 1, "full_name": "Ana", "addresses": [{"city": "Lisbon"}]}]

        return people_resource

    warehouse = tmp_path / "people.duckdb"
    p = dlt.pipeline(
        "people_sync",
        destination=dlt.destinations.duckdb(str(warehouse)),
        dataset_name="hr",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    p.run(make())
    store = Store(tmp_path / "store.duckdb")
    assert collect_into(store, source("wh", "duckdb", path=str(warehouse))).ok
    yield store, (p, make)


def test_suspected_pii_can_be_confirmed_and_exported_as_dlt_hints_that_dlt_applies(people, monkeypatch):
    store, (pipeline, make) = people
    signin.access_config(store.path.parent, monkeypatch)
    monkeypatch.setenv("GLASSPANE_STORE", str(store.path))
    at = signin.as_visitor(AppTest.from_file(str(PROJECT_DIR / "app.py"), default_timeout=60), signin.STEWARD)
    at.run()
    at.switch_page("pages/pii.py").run()
    suspected = table(at, "suspected_table")
    assert set(suspected["column_name"]) == {"full_name", "city"}
    # Streamlit's AppTest cannot click rows of a dataframe: select them through the widget's state.
    at.session_state["suspected_table"] = {"selection": {"rows": [0, 1], "columns": []}}
    version = store.version()
    next(b for b in at.button if b.label == "Confirm as PII").click().run()
    assert not at.exception
    assert len(rows(store, "SELECT DISTINCT decided_at FROM pii_decisions")) == 1  # one write for both
    assert store.version() != version
    decided = rows(
        store, "SELECT table_name, column_name, decision, pii_kind, decided_by FROM pii_decisions ORDER BY 1"
    )
    assert decided == [
        ("people", "full_name", "confirmed", "name", signin.STEWARD),
        ("people__addresses", "city", "confirmed", "address", signin.STEWARD),
    ]
    assert any("Recorded 2 decisions" in s.value for s in at.success)
    inventory = table(at, "pii_inventory")
    assert set(inventory.loc[inventory["basis"] == "confirmed", "column_name"]) == {"full_name", "city"}

    snippets = {c.language: c.value for c in at.code}
    schema = yaml.safe_load(snippets["yaml"])
    assert schema["tables"]["people"]["columns"]["full_name"]["x-annotation-pii"] == "name"
    assert schema["tables"]["people__addresses"]["columns"]["city"]["x-annotation-pii"] == "address"
    # The apply_hints snippet, pasted into the pipeline, makes dlt carry the hints into its schema.
    people_resource = make()
    exec(snippets["python"], {"people": people_resource})  # the exported snippet, run as a user would
    pipeline.run(people_resource)
    tables = pipeline.default_schema.tables
    assert tables["people"]["columns"]["full_name"]["x-annotation-pii"] == "name"
    assert tables["people__addresses"]["columns"]["city"]["x-annotation-pii"] == "address"


def test_a_dismissed_suspicion_is_shown_with_who_and_when(people, monkeypatch):
    store, _ = people
    with signin.bound_to("127.0.0.1"):  # no sign-in, loopback: the operating-system user decides
        at = app(store.path, monkeypatch, "pages/pii.py")
        at.session_state["suspected_table"] = {"selection": {"rows": [0], "columns": []}}
        next(b for b in at.button if b.label == "Not PII").click().run()
    suspected = table(at, "suspected_table")
    decided = suspected[suspected["decision"].notna()].iloc[0]
    who = getpass.getuser()
    assert (decided["column_name"], decided["decision"], decided["decided_by"]) == ("full_name", "not_pii", who)
    assert decided["decided_at"] is not None
    assert any("No PII column found yet" in i.value for i in at.info)  # dismissed: not in the inventory
    assert rows(store, "SELECT decision FROM pii_decisions") == [("not_pii",)]


def test_locations_page_inventories_places_and_draws_where_data_flows(demo_store, monkeypatch):
    at = app(demo_store.path, monkeypatch, "pages/locations.py")
    inventory = table(at, "locations_table")
    kinds = dict(zip(inventory["location"].str.split("://").str[0], inventory["kind"], strict=True))
    assert kinds == {"duckdb": "DuckDB file", "file": "Folder", "local": "Machine"}
    machine = inventory[inventory["kind"] == "Machine"].iloc[0]
    assert machine["pipeline_count"] == 4 and machine["failing"] == 1
    dot = at.get("graphviz_chart")[0].proto.spec
    for name in ("hr_export", "web_events", "billing_sync", "crm_sync", "warehouse.duckdb"):
        assert name in dot
    bucket = next(loc for loc in inventory["location"] if loc.startswith("file://"))
    at = app(demo_store.path, monkeypatch, "pages/locations.py", location=bucket)
    dot = at.get("graphviz_chart")[0].proto.spec
    assert "hr_export" in dot and "crm_sync" not in dot


def test_locations_page_filtered_to_an_unknown_location_draws_nothing(demo_store, monkeypatch):
    at = app(demo_store.path, monkeypatch, "pages/locations.py", location="s3://gone")
    assert table(at, "locations_table").empty
    assert not at.get("graphviz_chart")


def test_names_with_markdown_html_quotes_and_emoji_are_shown_literally(odd_names, monkeypatch):
    [(odd_table,)] = rows(odd_names, "SELECT DISTINCT table_name FROM columns WHERE pii")
    at = app(odd_names.path, monkeypatch, "pages/pii.py")
    inventory = table(at, "pii_inventory")
    assert list(inventory["column_name"]) == ["<img src=x onerror=alert(1)>"]
    assert list(inventory["table_name"]) == [odd_table] and "🚀" in odd_table
    at = app(odd_names.path, monkeypatch, "pages/schema.py")
    assert "**bold** [link](http://x)" in set(table(at, "schema_feed")["column_name"])
    for page in PAGES:
        assert not app(odd_names.path, monkeypatch, f"pages/{page}.py").error


def test_the_runs_list_shows_the_newest_runs_however_many_match(demo_store):
    from glasspane.queries import runs

    with demo_store.reader() as con:
        everything, total = runs.list_runs(con, limit=100_000)
        assert len(everything) == total > 100
        for limit in (1, 7, total - 1):
            newest, counted = runs.list_runs(con, limit=limit)
            assert counted == total
            pd.testing.assert_frame_equal(newest, everything.head(limit))
        failed, counted = runs.list_runs(con, statuses=("failed",), limit=2)
        every_failed = everything[everything["status"] == "failed"].reset_index(drop=True)
        assert counted == len(every_failed) > 2
        pd.testing.assert_frame_equal(failed, every_failed.head(2))


def test_a_source_filter_keeps_every_run_whose_data_lives_where_the_source_reads(demo_store, monkeypatch):
    # today's failed hr_export run was seen only in its working folder, but its data lives in the demo bucket
    at = app(
        demo_store.path,
        monkeypatch,
        "pages/runs.py",
        source="demo_bucket",
        pipeline="hr_export",
        status="failed",
        range="all",
    )
    listed = at.dataframe[0].value
    sql = "SELECT run_key, seen_by FROM runs WHERE pipeline_name = 'hr_export' AND status = 'failed'"
    failed = rows(demo_store, sql)
    assert sorted(listed["run_key"]) == sorted(key for key, _ in failed)
    assert any(seen_by == ["demo_pipelines"] for _, seen_by in failed)  # the run credited to the working folder


def test_a_completed_runs_detail_shows_its_rows_per_table_and_who_saw_it(demo_store, monkeypatch):
    """Looked up by its key and the load id the key carries (which lets the store skip older files)."""
    sql = "SELECT run_key, load_id FROM runs WHERE status = 'completed' AND row_count > 0 ORDER BY started_at LIMIT 1"
    [(run_key, load_id)] = rows(demo_store, sql)
    at = app(demo_store.path, monkeypatch, "pages/runs.py", range="all", run=run_key)
    [seen_by] = rows(demo_store, "SELECT seen_by FROM runs WHERE run_key = ?", [run_key])[0]
    captions = [c.value.replace("\\", "") for c in at.caption]  # shown as Markdown literals
    assert any(f"load id {load_id}" in c and f"seen by {', '.join(seen_by)}" in c for c in captions)
    shown = at.dataframe[-2].value
    counted = rows(
        demo_store,
        "SELECT table_name, row_count FROM table_counts WHERE load_id = ? ORDER BY row_count DESC, table_name",
        [load_id],
    )
    assert list(zip(shown["table_name"], shown["row_count"], strict=True)) == counted and counted


def test_a_failed_runs_detail_says_why_it_has_no_row_counts(demo_store, monkeypatch):
    [(run_key,)] = rows(demo_store, "SELECT run_key FROM runs WHERE status = 'failed' ORDER BY started_at DESC LIMIT 1")
    at = app(demo_store.path, monkeypatch, "pages/runs.py", pipeline="hr_export", run=run_key)
    captions = [c.value for c in at.caption]
    assert "No row counts: the run failed in the extract step, before dlt counted the rows of any table." in captions
    assert not any("no trace reached a collector" in c for c in captions)  # its error came from its trace
