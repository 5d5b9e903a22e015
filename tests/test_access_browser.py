"""Sign-in for real: the dashboard with Streamlit's OpenID Connect login against a local provider
(tests/oidc_provider.py), people of each role signing in with headless Chromium, and what each may do."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from glasspane.settings import PROJECT_DIR
from glasspane.store import Store
from glasspane.ui import strings
from tests import governance_fixtures as gf
from tests import signin
from tests.browser import READY, chromium, open_page, settle
from tests.conftest import collect_into, rows
from tests.oidc_provider import OidcProvider
from tests.servers import Process, free_port
from tests.test_lineage import sources

REFUSALS = "SELECT who, action FROM access_log ORDER BY refused_at"


@contextlib.contextmanager
def signed_dashboard(folder: Path, store: Store, provider: OidcProvider) -> Iterator[str]:
    """`streamlit run app.py` on loopback with sign-in configured (`[auth]` in a secrets file) and
    `[access]` in glasspane.toml; yields its base URL."""
    port = free_port()
    secrets = folder / "secrets.toml"
    auth = signin.auth_section(port, provider.metadata_url)
    secrets.write_text("[auth]\n" + "".join(f'{key} = "{value}"\n' for key, value in auth.items()))
    config = folder / "glasspane.toml"
    config.write_text(signin.ACCESS)
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--secrets.files",
        str(secrets),
    ]
    env = {"GLASSPANE_STORE": str(store.path), "GLASSPANE_CONFIG": str(config), "GLASSPANE__SUBJECT_SALT": "s"}
    server = Process(command, f"http://127.0.0.1:{port}/_stcore/health", env=env, cwd=PROJECT_DIR)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def world(tmp_path) -> Iterator[tuple[str, gf.Warehouse, Store, OidcProvider]]:
    warehouse = gf.build(tmp_path / "places")
    store = Store(tmp_path / "store.duckdb")
    assert collect_into(store, *sources(warehouse)).ok
    provider = OidcProvider("glasspane", "glasspane-test-client-secret").start()
    try:
        with signed_dashboard(tmp_path, store, provider) as url:
            yield url, warehouse, store, provider
    finally:
        provider.stop()


def sign_in(page, url: str, email: str) -> None:
    """Sign in the way a person does: the app's button, the provider's page, back to the app."""
    from playwright.sync_api import expect

    open_page(page, url)
    expect(page.get_by_text(strings.ACCESS_SIGN_IN)).to_be_visible()
    page.get_by_role("button", name=strings.ACCESS_SIGN_IN_BUTTON).click()
    page.wait_for_url("**/authorize?**")
    page.get_by_label("E-mail").fill(email)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(url + "/**")
    page.wait_for_selector(READY, timeout=60_000)


def plan_and_execute(page, url: str) -> None:
    """Plan the subject's deletion, confirm, type it again and press Execute."""
    open_page(page, f"{url}/governance?kind=email")
    subject = page.locator('input[type="password"]').nth(0)
    subject.fill(gf.SUBJECT)
    subject.press("Enter")
    settle(page)
    page.get_by_role("button", name=strings.PLAN_BUTTON).click()
    settle(page)
    page.get_by_text("I confirm: permanently delete").click()
    settle(page)
    retyped = page.get_by_label(strings.EXECUTE_RETYPE)
    retyped.fill(gf.SUBJECT)
    retyped.press("Enter")
    settle(page)
    page.get_by_role("button", name=strings.EXECUTE_BUTTON).click()
    settle(page)


def test_each_role_signs_in_and_may_do_only_its_own_actions(world):
    from playwright.sync_api import expect

    url, warehouse, store, provider = world
    subject_rows = "SELECT count(*) FROM crm.customers WHERE email = ?"
    with chromium() as browser:
        anonymous = browser.new_page()
        open_page(anonymous, f"{url}/governance?kind=email")  # a deep link, too, is sent to sign in
        expect(anonymous.get_by_text(strings.ACCESS_SIGN_IN)).to_be_visible()
        expect(anonymous.get_by_role("button", name=strings.PLAN_BUTTON)).to_have_count(0)
        expect(anonymous.get_by_role("button", name=strings.COLLECT_BUTTON)).to_have_count(0)

        for email, roles in ((signin.VIEWER, "viewer"), (signin.STEWARD, "viewer, steward")):
            page = browser.new_context(viewport={"width": 1400, "height": 2000}).new_page()
            sign_in(page, url, email)
            expect(page.get_by_text(strings.ACCESS_SIGNED_IN.format(who=email, roles=roles))).to_be_visible()
            page.get_by_role("button", name=strings.COLLECT_BUTTON).click()
            reason = "needs the operator role"
            expect(page.get_by_text(strings.ACCESS_REFUSED.format(action="collect now", reason=reason))).to_be_visible()
            plan_and_execute(page, url)
            refused = strings.ACCESS_REFUSED.format(action="execute deletion", reason="needs the executor role")
            expect(page.get_by_text(refused)).to_be_visible()
            expect(page.get_by_role("button", name=strings.EXECUTE_SURE_BUTTON)).to_have_count(0)
        assert gf.count(warehouse.path, subject_rows, [gf.SUBJECT]) == 1

        operator = browser.new_context(viewport={"width": 1400, "height": 2000}).new_page()
        sign_in(operator, url, signin.OPERATOR)
        operator.get_by_role("button", name=strings.COLLECT_BUTTON).click()
        expect(
            operator.get_by_text(strings.COLLECT_DONE.format(sources="0 sources", new_runs="0 new runs"))
        ).to_be_visible()

        executor = browser.new_context(viewport={"width": 1400, "height": 2000}).new_page()
        sign_in(executor, url, signin.EXECUTOR)
        plan_and_execute(executor, url)
        expect(executor.get_by_text(strings.EXECUTE_SURE.format(who=signin.EXECUTOR))).to_be_visible()
        assert gf.count(warehouse.path, subject_rows, [gf.SUBJECT]) == 1  # not before the second confirmation
        executor.get_by_role("button", name=strings.EXECUTE_SURE_BUTTON).click()
        expect(executor.get_by_text("Deleted 26 rows with 13 statements.")).to_be_visible(timeout=60_000)

    assert provider.issued == [signin.VIEWER, signin.STEWARD, signin.OPERATOR, signin.EXECUTOR]
    assert gf.count(warehouse.path, subject_rows, [gf.SUBJECT]) == 0
    assert rows(store, "SELECT DISTINCT executed_by FROM deletion_audit") == [(signin.EXECUTOR,)]
    assert rows(store, REFUSALS) == [
        (signin.VIEWER, "collect now"),
        (signin.VIEWER, "execute deletion"),
        (signin.STEWARD, "collect now"),
        (signin.STEWARD, "execute deletion"),
    ]
