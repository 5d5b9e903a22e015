"""dlt's configuration and secrets, read without importing Streamlit outside a Streamlit app.

Where it finds no `.dlt/secrets.toml` (credentials in environment variables, say), dlt imports
Streamlit (0.1 s of CPU in every collect process) to look for the secrets of a running Streamlit
app. A process that has not imported Streamlit runs no app, so there is nothing to find.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import TypeVar

from glasspane.lazy_import import lazy

T = TypeVar("T")
_LOCK = threading.Lock()


@contextlib.contextmanager
def outside_streamlit() -> Iterator[None]:
    """Read dlt's configuration in this block without importing Streamlit, unless a Streamlit app runs
    here: `import streamlit` fails meanwhile, which dlt takes for "not in Streamlit"."""
    with _LOCK:
        if "streamlit" in sys.modules:
            yield
            return
        sys.modules["streamlit"] = None  # type: ignore[assignment]  # a None entry makes the import fail
        try:
            yield
        finally:
            if sys.modules.get("streamlit", ...) is None:
                del sys.modules["streamlit"]


def resolve_configuration(spec: T, sections: tuple[str, ...] = ()) -> T:
    """dlt's `resolve_configuration` of `spec` in `sections`, outside Streamlit."""
    with outside_streamlit():
        return lazy("dlt.common.configuration").resolve_configuration(spec, sections=sections)


def secret(key: str) -> object | None:
    """dlt's secret `key` (a dotted path, e.g. `alerts.slack_webhook`), outside Streamlit; None when unset."""
    with outside_streamlit():
        return lazy("dlt").secrets.get(key)
