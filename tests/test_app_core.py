"""The Overview and Runs pages in Streamlit's AppTest: populated, empty, filtered by URL."""

from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from glasspane import settings
from glasspane.settings import PROJECT_DIR
from glasspane.store import Store
from tests.conftest import rows


def app(store_path, monkeypatch, page: str | None = None, **params: str) -> AppTest:
    monkeypatch.setenv("GLASSPANE_STORE", str(store_path))
    at = AppTest.from_file(str(PROJECT_DIR / "app.py"), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_overview_shows_every_pipeline_failing_first(demo_store, monkeypatch):
    at = app(demo_store.path, monkeypatch)
    metrics = {m.label: m.value for m in at.metric}
    shown = tuple(metrics[k] for k in ("Failing", "Late", "Anomalous", "Never seen", "Healthy", "Locations"))
    assert shown == ("1", "0", "1", "0", "2", "3")  # web_events: its newest load is anomalous
    table = at.dataframe[0].value
    assert table["pipeline_name"].iloc[0] == "hr_export" and list(table["health_shown"].iloc[0]) == ["failing"]
    assert set(table["pipeline_name"]) == {"hr_export", "web_events", "billing_sync", "crm_sync"}


def test_runs_page_restores_filters_from_the_url_and_shows_a_failed_runs_error(demo_store, monkeypatch):
    [(run_key,)] = rows(demo_store, "SELECT run_key FROM runs WHERE status = 'failed' ORDER BY started_at DESC LIMIT 1")
    at = app(demo_store.path, monkeypatch, "pages/runs.py", pipeline="hr_export", status="failed", run=run_key)
    assert at.multiselect(key="url_pipeline").value == ["hr_export"]
    assert at.multiselect(key="url_source").value == [] and at.multiselect(key="url_source").placeholder == "All"
    listed = at.dataframe[0].value
    assert set(listed["status"]) == {"failed"} and set(listed["pipeline_name"]) == {"hr_export"}
    assert [c.value for c in at.code] == [rows(demo_store, "SELECT error FROM runs WHERE run_key = ?", [run_key])[0][0]]
    assert "401 Unauthorized" in at.code[0].value


def test_runs_page_filtered_to_nothing_says_so(demo_store, monkeypatch):
    at = app(demo_store.path, monkeypatch, "pages/runs.py", pipeline="no_such_pipeline")
    assert any("No runs match" in i.value for i in at.info)


@pytest.mark.parametrize("page", [None, "pages/runs.py"])
def test_an_empty_store_offers_collect_and_demo(tmp_path, monkeypatch, page):
    at = app(tmp_path / "empty.duckdb", monkeypatch, page)
    assert any("The pane store is empty" in i.value for i in at.info)
    labels = [b.label for b in at.button]
    assert "Collect now" in labels and "Load demo data" in labels


@pytest.mark.parametrize("page", [None, "pages/runs.py"])
def test_a_store_that_cannot_be_read_is_said_once_in_one_line_without_a_traceback(tmp_path, monkeypatch, page):
    store = tmp_path / "store.lake"
    store.write_text("not a pane store\n" * 100)
    at = app(store, monkeypatch, page)
    said = f'store {store}: cannot be read (Failed to prepare query "***": file is not a database)'
    assert [e.value for e in at.main.error] == [said]
    assert not at.sidebar.error  # the sidebar reads the same store, and leaves it to the page
    assert not at.expander and not at.code  # no traceback: nothing is wrong with the page
    assert store.read_text() == "not a pane store\n" * 100


def test_collect_now_in_the_app_collects_the_configured_sources(tmp_path, monkeypatch):
    import dlt

    from tests import dlt_fixtures as fx

    warehouse = tmp_path / "w.duckdb"
    fx.run(fx.pipeline("crm", tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), "crm"), fx.users(2))
    config = tmp_path / "glasspane.toml"
    config.write_text(f'[[sources]]\nname = "wh"\nkind = "duckdb"\npath = "{warehouse}"\n')
    monkeypatch.setenv("GLASSPANE_CONFIG", str(config))
    at = app(tmp_path / "store.duckdb", monkeypatch)
    at.button(key="empty_collect").click().run()
    assert not at.exception
    assert any("Collected 1 source: 1 new run." in s.value for s in at.success)
    at.run()
    assert list(at.dataframe[0].value["pipeline_name"]) == ["crm"]


def test_load_demo_data_from_an_empty_store(tmp_path, monkeypatch):
    at = app(tmp_path / "store.duckdb", monkeypatch)
    next(b for b in at.button if b.label == "Load demo data").click().run(timeout=180)
    assert not at.exception
    assert (tmp_path / ".glasspane" / "demo" / "glasspane.toml").exists()  # the demo places sit beside the store
    assert rows(Store(tmp_path / "store.duckdb"), "SELECT count(*) FROM pipelines") == [(4,)]
    assert len(at.dataframe[0].value) == 4


def test_collect_now_collects_the_demos_sources_once_the_demo_was_built(demo_store, tmp_path, monkeypatch):
    monkeypatch.delenv("GLASSPANE_CONFIG", raising=False)
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt_home"))  # dlt's own pipelines folder does not exist
    store = Store(tmp_path / "store.duckdb")
    demo_config = settings.demo_dir(store.path) / "glasspane.toml"  # where Load demo data writes the demo's config
    demo_config.parent.mkdir(parents=True)
    shutil.copyfile(demo_store.path.parent / "places" / "glasspane.toml", demo_config)
    at = app(store.path, monkeypatch)
    at.button(key="empty_collect").click().run(timeout=120)
    assert not at.exception
    assert any(s.value.startswith("Collected 4 sources: ") for s in at.success), [w.value for w in at.warning]
    demo = ["demo_bucket", "demo_models", "demo_pipelines", "demo_warehouse"]
    assert rows(store, "SELECT source, status FROM sources ORDER BY 1") == [(name, "ok") for name in demo]


def test_collect_now_without_config_or_dlt_pipelines_folder_has_nothing_to_collect_yet(tmp_path, monkeypatch):
    monkeypatch.delenv("GLASSPANE_CONFIG", raising=False)
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt_home"))
    at = app(tmp_path / "store.duckdb", monkeypatch)
    at.button(key="empty_collect").click().run()
    [info] = [i.value for i in at.info if i.value.startswith("Nothing to collect yet")]
    assert str(tmp_path / "dlt_home" / "pipelines") in info
    assert rows(Store(tmp_path / "store.duckdb"), "SELECT count(*) FROM sources") == [(0,)]  # no invented source


def test_the_dashboard_does_not_import_the_collectors():
    """The UI runs collects as `python -m collectors` processes: no module of it imports `collectors`."""
    import ast

    imported = set()
    for path in [*(PROJECT_DIR / "glasspane" / "ui").rglob("*.py"), *(PROJECT_DIR / "pages").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {(path.name, a.name.split(".")[0]) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add((path.name, node.module.split(".")[0]))
    assert {name for name, module in imported if module == "collectors"} == set()
