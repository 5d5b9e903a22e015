"""Who may see and do what on the dashboard, in Streamlit's AppTest: roles from glasspane.toml, the
anonymous visitor, the local session, the read-only dashboard, and the log of refused actions."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from glasspane import access
from glasspane.config import ConfigError, parse_config
from glasspane.settings import PROJECT_DIR
from glasspane.store import Store
from glasspane.ui import strings
from tests import governance_fixtures as gf
from tests import signin
from tests.conftest import rows
from tests.test_dashboard_pages import people  # noqa: F401 - a fixture
from tests.test_governance_pages import button, governed_store  # noqa: F401 - a fixture

REFUSALS = "SELECT who, action, reason FROM access_log ORDER BY refused_at"


def visit(store: Store, monkeypatch, email: str | None, page: str | None = None, signed: bool = True) -> AppTest:
    """The app as `email` sees it with sign-in configured (`signed`), else without sign-in."""
    monkeypatch.setenv("GLASSPANE_STORE", str(store.path))
    at = AppTest.from_file(str(PROJECT_DIR / "app.py"), default_timeout=60)
    if signed:
        signin.as_visitor(at, email)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_roles_come_from_addresses_and_domains_and_every_role_may_view():
    rules = access.access_rules(
        parse_config({"access": {"viewer": ["@example.com"], "executor": ["Exa@Example.com"]}}, Path("g.toml"))
    )
    assert rules.roles_of("someone@example.com") == {access.VIEWER}
    assert rules.roles_of("exa@example.com") == {access.VIEWER, access.EXECUTOR}
    assert rules.roles_of("someone@example.org") == frozenset()
    assert rules.roles_of(None) == frozenset()


@pytest.mark.parametrize(
    ("section", "error"),
    [
        (
            {"admin": ["a@example.com"]},
            "g.toml: [access]: unknown role 'admin' (roles: viewer, steward, operator, executor)",
        ),
        ({"viewer": "a@example.com"}, "g.toml: [access]: 'viewer' must be a list of e-mail addresses or @domains"),
    ],
)
def test_a_malformed_access_section_is_a_one_line_error(section, error):
    with pytest.raises(ConfigError) as raised:
        access.access_rules(parse_config({"access": section}, Path("g.toml")))
    assert str(raised.value) == error


@pytest.mark.parametrize(
    ("address", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("0.0.0.0", False), ("", False), ("10.1.2.3", False)],
)
def test_only_loopback_addresses_count_as_loopback(address, loopback):
    assert access.is_loopback(address) is loopback


def test_with_sign_in_configured_an_anonymous_visitor_is_sent_to_sign_in(tmp_path, monkeypatch):
    signin.access_config(tmp_path, monkeypatch)
    at = visit(Store(tmp_path / "s.duckdb"), monkeypatch, None)
    assert [i.value for i in at.info] == [strings.ACCESS_SIGN_IN]
    assert [b.label for b in at.button] == [strings.ACCESS_SIGN_IN_BUTTON]  # no page, no collect, nothing else


def test_a_signed_in_visitor_without_a_role_sees_nothing_and_is_logged(tmp_path, monkeypatch):
    signin.access_config(tmp_path, monkeypatch)
    store = Store(tmp_path / "s.duckdb")
    at = visit(store, monkeypatch, "stranger@elsewhere.example")
    assert [e.value for e in at.error] == [strings.ACCESS_NO_ROLE.format(who="stranger@elsewhere.example")]
    assert [b.label for b in at.button] == [strings.ACCESS_SIGN_OUT]
    at.run()  # a rerun is not a second attempt
    assert rows(store, REFUSALS) == [("stranger@elsewhere.example", "view", "needs the viewer role")]


def test_a_viewer_cannot_collect_and_the_attempt_is_logged(tmp_path, monkeypatch):
    signin.access_config(tmp_path, monkeypatch)
    store = Store(tmp_path / "s.duckdb")
    at = visit(store, monkeypatch, signin.VIEWER)
    assert strings.ACCESS_SIGNED_IN.format(who=signin.VIEWER, roles="viewer") in [c.value for c in at.caption]
    at.button(key="empty_collect").click().run()
    reason = "needs the operator role"
    assert [e.value for e in at.error] == [strings.ACCESS_REFUSED.format(action="collect now", reason=reason)]
    assert rows(store, REFUSALS) == [(signin.VIEWER, "collect now", reason)]
    assert rows(store, "SELECT count(*) FROM collect_log") == [(0,)]


def test_an_operator_collects_now(tmp_path, monkeypatch):
    signin.access_config(tmp_path, monkeypatch)
    store = Store(tmp_path / "s.duckdb")
    at = visit(store, monkeypatch, signin.OPERATOR)
    at.button(key="empty_collect").click().run()
    done = strings.COLLECT_DONE.format(sources="0 sources", new_runs="0 new runs")
    assert not at.error and [s.value for s in at.success] == [done]
    assert rows(store, REFUSALS) == []


def test_a_viewer_cannot_decide_pii_and_a_steward_can(people, tmp_path, monkeypatch):  # noqa: F811
    store, _ = people
    signin.access_config(tmp_path, monkeypatch)
    for email in (signin.VIEWER, signin.STEWARD):
        at = visit(store, monkeypatch, email, "pages/pii.py")
        at.session_state["suspected_table"] = {"selection": {"rows": [0], "columns": []}}
        button(at, strings.PII_DISMISS).click().run()
    assert rows(store, "SELECT column_name, decision, decided_by FROM pii_decisions") == [
        ("full_name", "not_pii", signin.STEWARD)
    ]
    assert rows(store, REFUSALS) == [(signin.VIEWER, "decide PII", "needs the steward role")]


def _plan(at: AppTest) -> None:
    at.text_input(key="subject_value").input(gf.SUBJECT).run()
    button(at, strings.PLAN_BUTTON).click().run()
    at.checkbox(key="confirm_delete").check().run()
    at.text_input(key="subject_retyped").input(gf.SUBJECT).run()


@pytest.mark.parametrize("email", [signin.VIEWER, signin.STEWARD, signin.OPERATOR])
def test_only_an_executor_may_execute_a_deletion(governed_store, tmp_path, monkeypatch, email):  # noqa: F811
    warehouse, store = governed_store
    signin.access_config(tmp_path, monkeypatch)
    at = visit(store, monkeypatch, email, "pages/governance.py")
    _plan(at)
    button(at, strings.EXECUTE_BUTTON).click().run()
    reason = "needs the executor role"
    assert [e.value for e in at.error] == [strings.ACCESS_REFUSED.format(action="execute deletion", reason=reason)]
    assert strings.EXECUTE_SURE_BUTTON not in [b.label for b in at.button]
    assert rows(store, REFUSALS) == [(email, "execute deletion", reason)]
    assert rows(store, "SELECT count(*) FROM deletion_audit") == [(0,)]
    assert gf.count(warehouse.path, "SELECT count(*) FROM crm.customers WHERE email = ?", [gf.SUBJECT]) == 1


def test_an_executor_executes_after_a_second_confirmation(governed_store, tmp_path, monkeypatch):  # noqa: F811
    """The audit names the signed-in executor."""
    warehouse, store = governed_store
    signin.access_config(tmp_path, monkeypatch)
    at = visit(store, monkeypatch, signin.EXECUTOR, "pages/governance.py")
    _plan(at)
    button(at, strings.EXECUTE_BUTTON).click().run()
    assert gf.count(warehouse.path, "SELECT count(*) FROM crm.customers WHERE email = ?", [gf.SUBJECT]) == 1
    assert [w.value for w in at.warning][-1] == strings.EXECUTE_SURE.format(who=signin.EXECUTOR)
    button(at, strings.EXECUTE_SURE_BUTTON).click().run()
    assert gf.count(warehouse.path, "SELECT count(*) FROM crm.customers WHERE email = ?", [gf.SUBJECT]) == 0
    assert rows(store, "SELECT DISTINCT executed_by FROM deletion_audit") == [(signin.EXECUTOR,)]


def test_without_sign_in_on_loopback_the_local_user_collects(tmp_path, monkeypatch):
    store = Store(tmp_path / "s.duckdb")
    (tmp_path / "glasspane.toml").write_text("")  # no sources, no [access]
    monkeypatch.setenv("GLASSPANE_CONFIG", str(tmp_path / "glasspane.toml"))
    with signin.bound_to("127.0.0.1"):
        at = visit(store, monkeypatch, None, signed=False)
        assert strings.ACCESS_LOCAL.format(who=getpass.getuser()) in [c.value for c in at.caption]
        at.button(key="empty_collect").click().run()
    assert [s.value for s in at.success] == [strings.COLLECT_DONE.format(sources="0 sources", new_runs="0 new runs")]
    assert rows(store, REFUSALS) == []


def test_without_sign_in_on_loopback_nobody_executes_a_deletion(governed_store, monkeypatch):  # noqa: F811
    warehouse, store = governed_store
    with signin.bound_to("127.0.0.1"):
        at = visit(store, monkeypatch, None, "pages/governance.py", signed=False)
        at.text_input(key="subject_value").input(gf.SUBJECT).run()
        button(at, strings.PLAN_BUTTON).click().run()
    assert strings.EXECUTE_NEEDS_SIGN_IN in [i.value for i in at.info]
    assert strings.EXECUTE_BUTTON not in [b.label for b in at.button]
    assert gf.count(warehouse.path, "SELECT count(*) FROM crm.customers WHERE email = ?", [gf.SUBJECT]) == 1


READ_ONLY = "read-only: no sign-in is configured and the dashboard is not bound to loopback"


def test_without_sign_in_on_another_address_the_dashboard_is_read_only(people, monkeypatch):  # noqa: F811
    store, _ = people
    with signin.bound_to("0.0.0.0"):
        at = visit(store, monkeypatch, None, "pages/pii.py", signed=False)
        at.session_state["suspected_table"] = {"selection": {"rows": [0], "columns": []}}
        button(at, strings.PII_DISMISS).click().run()
    assert rows(store, "SELECT count(*) FROM pii_decisions") == [(0,)]
    assert rows(store, REFUSALS) == [(None, "decide PII", READ_ONLY)]


def test_without_sign_in_on_another_address_nobody_collects_or_loads_the_demo(tmp_path, monkeypatch):
    store = Store(tmp_path / "s.duckdb")
    with signin.bound_to("0.0.0.0"):
        at = visit(store, monkeypatch, None, signed=False)
        assert strings.ACCESS_READ_ONLY in [c.value for c in at.caption]
        at.button(key="empty_collect").click().run()
        button(at, strings.DEMO_BUTTON).click().run()
    assert rows(store, REFUSALS) == [(None, "collect now", READ_ONLY), (None, "collect now", READ_ONLY)]
    assert rows(store, "SELECT count(*) FROM runs") == [(0,)]
