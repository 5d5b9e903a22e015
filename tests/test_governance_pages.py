"""The Lineage and Governance pages, in Streamlit's AppTest and in real headless Chromium."""

from __future__ import annotations

import contextlib
import sys

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from glasspane.settings import PROJECT_DIR
from glasspane.store import Store
from glasspane.ui import strings
from tests import governance_fixtures as gf
from tests import signin
from tests.browser import READY, chromium
from tests.conftest import collect_into, rows, source
from tests.servers import Process, free_port
from tests.test_lineage import sources


@pytest.fixture
def governed_store(tmp_path, monkeypatch) -> tuple[gf.Warehouse, Store]:
    warehouse = gf.build(tmp_path / "places")
    store = Store(tmp_path / "store.duckdb")
    assert collect_into(store, *sources(warehouse)).ok
    monkeypatch.setenv("GLASSPANE_STORE", str(store.path))
    monkeypatch.setenv("GLASSPANE__SUBJECT_SALT", "page-salt")
    return warehouse, store


def page(name: str, email: str | None = None, **params: str) -> AppTest:
    """A page as its visitor sees it: signed in as `email` (sign-in configured), else a local session."""
    at = AppTest.from_file(str(PROJECT_DIR / "app.py"), default_timeout=60)
    if email:
        signin.as_visitor(at, email)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(f"pages/{name}.py").run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def execute_twice_confirmed(at: AppTest, retyped: str) -> None:
    """Tick the confirmation, type the subject again, click Execute, then confirm once more."""
    at.checkbox(key="confirm_delete").check().run()
    at.text_input(key="subject_retyped").input(retyped).run()
    button(at, strings.EXECUTE_BUTTON).click().run()
    assert not at.error, [e.value for e in at.error]
    button(at, strings.EXECUTE_SURE_BUTTON).click().run()


def test_lineage_page_draws_a_columns_neighbourhood_from_the_url(governed_store):
    at = page("lineage", table="crm.v_customers", column="email_md5", hops="3")
    assert [s.value for s in at.selectbox][1:] == ["crm.v_customers", "email_md5", "3"]
    [graph] = at.get("graphviz_chart")
    dot = graph.proto.spec
    assert 'label="crm.customers (dlt table)"' in dot and 'label="crm.v_customers (view)"' in dot
    assert 'label="email_md5\\nPII: email (hashed)"' in dot  # pseudonymised, still personal data
    assert 'style=dashed, label="hashed"' in dot
    upstream = at.dataframe[0].value
    assert list(upstream[["from_column", "to_column", "kind", "hashed"]].itertuples(index=False, name=None)) == [
        ("crm.customers.email", "crm.v_customers.email_md5", "transformed", True)
    ]
    inherited = at.dataframe[1].value
    hashed = inherited[inherited["pseudonymised"]]
    assert sorted(hashed["table_name"] + "." + hashed["column_name"]) == [
        "customer_keys.email_md5",
        "event_counts.email_md5",
        "v_addresses.email_sha",
        "v_customers.email_md5",
    ]
    filters = at.dataframe[2].value
    assert list(filters["table_name"]) == ["v_corp_events"]


def test_lineage_page_with_a_broken_definition_says_which(governed_store):
    warehouse, store = governed_store
    with contextlib.closing(duckdb.connect(str(warehouse.path))) as con:
        con.execute("CREATE VIEW crm.v_unknown AS SELECT * FROM crm.customers, range(3)")
    assert collect_into(store, *sources(warehouse)).ok
    at = page("lineage")
    assert [w.value for w in at.warning] == ["1 definition could not be traced; their lineage is missing."]
    problems = at.dataframe[-1].value
    assert list(problems["name"]) == ["v_unknown"]
    assert problems["lineage_error"].iloc[0].startswith("SELECT * over a table whose columns are unknown")


def test_lineage_page_without_definitions_says_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASSPANE_STORE", str(tmp_path / "empty.duckdb"))
    at = page("lineage")
    assert at.info[0].value.startswith("No view or model definitions have been collected yet")


def test_governance_page_plans_and_executes_only_after_confirmation(governed_store, tmp_path, monkeypatch):
    warehouse, store = governed_store
    signin.access_config(tmp_path, monkeypatch)
    at = page("governance", signin.EXECUTOR, kind="email")
    at.text_input(key="subject_value").input("not an address").run()
    button(at, "Plan deletion").click().run()
    assert [e.value for e in at.error] == [
        "the value does not look like an e-mail address (name@domain.tld), as PII kind 'email' requires"
    ]

    at.text_input(key="subject_value").input(gf.SUBJECT).run()
    button(at, "Plan deletion").click().run()
    assert not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Statements": "13", "Rows (estimate)": "≈ 12", "Destinations": "1", "Views cleared": "4"}
    [code] = at.code
    assert 'DELETE FROM "crm"."customers" WHERE "email" = $subject;' in code.value
    assert gf.SUBJECT not in code.value
    assert button(at, "Execute deletion").disabled  # not before the confirmation

    at.checkbox(key="confirm_delete").check().run()
    at.text_input(key="subject_retyped").input("someone.else@example.com").run()
    button(at, strings.EXECUTE_BUTTON).click().run()
    assert [e.value for e in at.error] == [strings.EXECUTE_MISMATCH]
    assert strings.EXECUTE_SURE_BUTTON not in [b.label for b in at.button]

    execute_twice_confirmed(at, gf.SUBJECT)
    assert [s.value for s in at.success] == [
        "Deleted 26 rows with 13 statements. Every statement is in the audit below."
    ]
    assert gf.count(warehouse.path, "SELECT count(*) FROM crm.customers WHERE email = ?", [gf.SUBJECT]) == 0
    assert gf.count(warehouse.path, "SELECT count(*) FROM crm.customers") == gf.SUBJECTS - 1
    audit = at.dataframe[-1].value
    assert len(audit) == 13 and set(audit["status"]) == {"deleted"}
    assert rows(store, "SELECT sum(rows_deleted) FROM deletion_audit") == [(26,)]
    assert rows(store, "SELECT DISTINCT executed_by FROM deletion_audit") == [(signin.EXECUTOR,)]
    assert gf.count(warehouse.path, "SELECT count(*) FROM crm_staging.customers WHERE email = ?", [gf.SUBJECT]) == 0

    at.text_input(key="subject_value").input(gf.SUBJECT).run()  # the same subject again: its history shows
    button(at, "Plan deletion").click().run()
    assert at.info[0].value.startswith("This subject's deletion: executed before for this subject on ")
    assert at.info[0].value.endswith(": 26 rows deleted.") and not at.warning


def test_the_demo_shows_lineage_and_a_plan_that_names_the_untagged_email_column(demo_store, monkeypatch):
    monkeypatch.setenv("GLASSPANE_STORE", str(demo_store.path))
    lineage = page("lineage")
    assert [s.value for s in lineage.selectbox][1:3] == ["crm.customers", "email"]  # hinted PII with most lineage
    assert "analytics.customer_emails (model)" in lineage.get("graphviz_chart")[0].proto.spec
    governance = page("governance")
    governance.text_input(key="subject_value").input("someone@example.com").run()
    button(governance, "Plan deletion").click().run()
    assert [w.value for w in governance.warning] == [
        "Not covered: these columns look like email by name but carry no PII hint."
    ]
    [not_covered] = [d.value for d in governance.dataframe if "column" in d.value.columns]
    assert list(not_covered["column"]) == ["billing.invoices.customer_email"]


def test_governance_page_lists_the_kept_load_packages_and_says_executing_leaves_them(tmp_path, monkeypatch):
    warehouse = gf.build_fresh(tmp_path / "own")  # its working folder names this warehouse
    store = Store(tmp_path / "store.duckdb")
    assert collect_into(store, *sources(warehouse), source("laptop", "pipelines_dir", path=str(warehouse.pipelines))).ok
    monkeypatch.setenv("GLASSPANE_STORE", str(store.path))
    monkeypatch.setenv("GLASSPANE__SUBJECT_SALT", "page-salt")
    signin.access_config(tmp_path, monkeypatch)
    at = page("governance", signin.EXECUTOR, kind="email")
    at.text_input(key="subject_value").input(gf.SUBJECT).run()
    button(at, "Plan deletion").click().run()
    assert 'DELETE FROM "crm_staging"."customers" WHERE "email" = $subject;' in at.code[0].value
    assert strings.PLAN_PACKAGES_CAPTION in [c.value for c in at.caption]
    [packages] = [d.value for d in at.dataframe if "package" in d.value.columns]
    assert list(packages["state"]) == ["loaded"]
    assert packages["package"].iloc[0].startswith(str(warehouse.pipelines / "crm" / "load" / "loaded"))
    assert "delete_completed_jobs = true" in packages["what"].iloc[0]

    execute_twice_confirmed(at, gf.SUBJECT)
    assert [s.value for s in at.success] == [
        "Deleted 26 rows with 13 statements. Every statement is in the audit below."
    ]
    assert at.info[-1].value == strings.EXECUTE_PACKAGES_LEFT.format(packages="1 kept load package")
    assert any((warehouse.pipelines / "crm" / "load" / "loaded").glob("*/completed_jobs/customers.*"))


def test_governance_page_without_pii_explains_how_to_tag_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASSPANE_STORE", str(tmp_path / "empty.duckdb"))
    at = page("governance")
    assert at.info[0].value.startswith("No column in the store is tagged as PII.")
    assert at.caption[-1].value == "No deletion has been executed yet."


@pytest.fixture
def dashboard(governed_store):
    """The dashboard as a bare `streamlit run app.py` starts it, no address given (config.toml: loopback),
    on a free local port, over the governed store."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port"]
    server = Process(
        [*command, str(port)],
        f"http://127.0.0.1:{port}/_stcore/health",
        env={"GLASSPANE_STORE": str(governed_store[1].path)},
        cwd=PROJECT_DIR,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def test_in_a_browser_the_graph_renders_and_an_anonymous_visitor_plans_but_cannot_execute(dashboard, governed_store):
    """Started the README's way with no settings (config.toml: loopback, no sign-in)."""
    from playwright.sync_api import expect

    warehouse, _ = governed_store
    with chromium() as browser:
        browser_page = browser.new_page(viewport={"width": 1400, "height": 2000})
        browser_page.goto(dashboard)
        browser_page.wait_for_selector(READY)
        browser_page.goto(f"{dashboard}/lineage?table=crm.customers&column=email&hops=2")
        browser_page.wait_for_selector(READY)
        graph = browser_page.locator('[data-testid="stGraphVizChart"] svg')
        expect(graph).to_be_visible()
        expect(graph.locator("g.node")).to_have_count(10)  # email and the nine columns that carry it
        expect(graph).to_contain_text("marts.customer_keys (model)")

        browser_page.goto(f"{dashboard}/governance?kind=email")
        browser_page.wait_for_selector(READY)
        value = browser_page.locator('input[type="password"]')
        value.fill(gf.SUBJECT)
        value.press("Enter")
        browser_page.wait_for_selector(READY)
        browser_page.get_by_role("button", name="Plan deletion").click()
        expect(browser_page.get_by_text("Statements, in the order they run")).to_be_visible()
        expect(browser_page.get_by_text("Executing needs a signed-in executor")).to_be_visible()
        expect(browser_page.get_by_role("button", name="Execute deletion")).to_have_count(0)
        expect(browser_page.get_by_role("button", name="Download SQL")).to_be_visible()
    assert gf.count(warehouse.path, "SELECT count(*) FROM crm.events WHERE user_email = ?", [gf.SUBJECT]) > 0


def test_a_failed_attempt_is_never_shown_as_an_executed_deletion(governed_store, tmp_path, monkeypatch):
    warehouse, store = governed_store
    signin.access_config(tmp_path, monkeypatch)
    at = page("governance", signin.EXECUTOR, kind="email")
    at.text_input(key="subject_value").input(gf.SUBJECT).run()
    button(at, "Plan deletion").click().run()
    warehouse.path.rename(warehouse.path.with_suffix(".moved"))  # the file is unreachable when executing
    execute_twice_confirmed(at, gf.SUBJECT)
    assert rows(store, "SELECT DISTINCT status FROM deletion_audit") == [("not_run",)]

    at.text_input(key="subject_value").input(gf.SUBJECT).run()  # planned again: the attempt, not a deletion
    button(at, "Plan deletion").click().run()
    [warning] = [w.value for w in at.warning if w.value.startswith("This subject's deletion")]
    assert warning.startswith("This subject's deletion: attempted before on ")
    assert warning.endswith("not completed: 13 statements failed, not run or rolled back.")
    assert not any("executed before" in i.value for i in at.info)
