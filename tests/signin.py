"""Sign-in for the dashboard's tests: a `glasspane.toml` with one user per role, and AppTest visitors.

AppTest cannot run an OpenID Connect round trip; it seeds `st.user` the way Streamlit does after one
(tests/test_access_browser.py signs in for real, against a local provider, in Chromium).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

VIEWER, STEWARD, OPERATOR, EXECUTOR = "vic@example.com", "stew@example.com", "olga@example.com", "exa@example.com"
ACCESS = f"""[access]
viewer = ["{VIEWER}"]
steward = ["{STEWARD}"]
operator = ["{OPERATOR}"]
executor = ["{EXECUTOR}"]
"""


def auth_section(port: int = 8501, metadata_url: str = "http://127.0.0.1:9/.well-known/openid-configuration") -> dict:
    """The `[auth]` section of `.streamlit/secrets.toml` (Streamlit's OpenID Connect sign-in)."""
    return {
        "redirect_uri": f"http://127.0.0.1:{port}/oauth2callback",
        "cookie_secret": "glasspane-test-cookie-secret",
        "client_id": "glasspane",
        "client_secret": "glasspane-test-client-secret",
        "server_metadata_url": metadata_url,
    }


def access_config(folder: Path, monkeypatch, sources: str = "") -> Path:
    """A `glasspane.toml` with `sources` and one user per role, used through `GLASSPANE_CONFIG`."""
    path = folder / "glasspane.toml"
    path.write_text(sources + ACCESS)
    monkeypatch.setenv("GLASSPANE_CONFIG", str(path))
    return path


def as_visitor(at: AppTest, email: str | None) -> AppTest:
    """Sign-in configured; the visitor signed in as `email`, or anonymous when None."""
    at.secrets["auth"] = auth_section()
    at.user = {"is_logged_in": True, "email": email} if email else {"is_logged_in": False}
    return at


@contextlib.contextmanager
def bound_to(address: str) -> Iterator[None]:
    """The address Streamlit says it listens on (`server.address`), for apps run by AppTest."""
    before = st_config.get_option("server.address")
    st_config.set_option("server.address", address)
    try:
        yield
    finally:
        st_config.set_option("server.address", before)
