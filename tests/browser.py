"""The dashboard in a real browser: `streamlit run app.py` on a free loopback port over a given store,
and Debian's Chromium driven by Playwright (never `playwright install`: browser downloads are blocked)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

from glasspane.settings import PROJECT_DIR
from tests.servers import Process, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Streamlit has finished the script run and is connected: what a person would wait for.
READY = '[data-testid="stApp"][data-test-script-state="notRunning"][data-test-connection-state="CONNECTED"]'
LOADING = '[data-testid="stSkeleton"]'  # the placeholder of an element whose code is still loading
ARTIFACTS = PROJECT_DIR / "test-artifacts"


@contextlib.contextmanager
def dashboard(store_path: Path, **env: str) -> Iterator[str]:
    """The dashboard served headless over `store_path`; yields its base URL."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(PROJECT_DIR / "app.py"),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
    ]
    server = Process(
        command, f"http://127.0.0.1:{port}/_stcore/health", env={"GLASSPANE_STORE": str(store_path), **env}
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@contextlib.contextmanager
def chromium() -> Iterator:
    """A headless Chromium browser (Playwright's sync API)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_page(page, url: str) -> None:
    """Go to `url` and wait until the script run it starts has finished."""
    page.goto(url)
    page.wait_for_selector(READY, timeout=60_000)


def settle(page) -> None:
    """Wait for the rerun an interaction starts to finish (it may start a moment after the event)."""
    page.wait_for_timeout(300)
    page.wait_for_selector(READY, timeout=60_000)


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/ and return its path, once every element that
    loads its code lazily (a table, a chart) has replaced its placeholder."""
    from playwright.sync_api import expect

    expect(page.locator(LOADING)).to_have_count(0, timeout=30_000)
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
