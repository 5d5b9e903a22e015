"""Panels the pages share: the error guard, the empty state, and the collect and demo actions."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import traceback
from collections.abc import Iterator
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from glasspane import access, settings
from glasspane.config import ConfigError, load_config
from glasspane.dlt_meta import redact
from glasspane.formatting import plural
from glasspane.queries import pipelines as pipeline_queries
from glasspane.store import StoreTooNew, StoreUnreadable
from glasspane.ui import access as door
from glasspane.ui import data, strings


@contextlib.contextmanager
def page_guard(in_sidebar: bool = False) -> Iterator[None]:
    """Show a clear message instead of a traceback when a page fails; details in an expander.

    A store this Glasspane cannot read (damaged, or migrated by a newer Glasspane) is said once, in its own
    line, by the page: it is no fault of the page, it has no traceback worth showing, and the sidebar
    (`in_sidebar`), which reads the same store, leaves it to the page."""
    try:
        yield
    except ScriptControlException:  # st.stop(), st.rerun() and st.switch_page() are not failures
        raise
    except (StoreTooNew, StoreUnreadable) as ex:
        if not in_sidebar:
            st.error(redact(str(ex)))
    except Exception as ex:
        reason = redact(str(ex).splitlines()[0]) if str(ex) else type(ex).__name__
        st.error(strings.PAGE_ERROR.format(reason=reason))
        with st.expander(strings.PAGE_ERROR_DETAILS):  # no data value or credential, as everywhere
            st.code(redact("".join(traceback.format_exception(ex)), limit=20_000), language="text")


def flash(key: str) -> None:
    """Show, once, the confirmation an action stored under `key` before it reran the page."""
    if message := st.session_state.pop(key, None):
        st.success(message)


def store_is_empty() -> bool:
    """True when the store holds no run yet."""
    return data.query(pipeline_queries.is_empty)


def stop_if_empty() -> None:
    """On an empty store, show what to do (collect, or load the demo) and end the page's run."""
    if store_is_empty():
        empty_state()
        st.stop()


def empty_state() -> None:
    """What to do when there is nothing to show: collect, or load the demo (progress spans the page)."""
    st.info(strings.EMPTY_STORE)
    left, right, _ = st.columns([1, 1, 3])
    progress = st.container()
    with left:
        collect_button(key="empty_collect", area=progress)
    with right:
        demo_button(area=progress)


def _collectors(*arguments: str) -> list[str]:
    """The command line of `python -m collectors` on the store the dashboard shows."""
    return [sys.executable, "-m", "collectors", *arguments, "--quiet", "--store", settings.store_location()]


def _stream(command: list[str], running: str, done: str, area: DeltaGenerator | None) -> tuple[int, list[str]]:
    """Run `command` in its own process, each line it prints shown as it comes, in a box as wide as `area`
    (the page's main column when None); its exit code and lines."""
    lines: list[str] = []
    with area or st.container(), st.status(running, expanded=True) as status:
        unbuffered = {**os.environ, "PYTHONUNBUFFERED": "1"}  # each line as soon as it is printed
        process = subprocess.Popen(
            command,
            cwd=settings.PROJECT_DIR,
            env=unbuffered,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        for line in process.stdout:
            if line.strip():
                lines.append(redact(line.rstrip()))  # the command redacts too: never a credential on the page
                st.text(lines[-1])
        code = process.wait()
        status.update(
            label=done if code == 0 else running, state="complete" if code == 0 else "error", expanded=code != 0
        )
    return code, lines


def collect_button(key: str = "collect", area: DeltaGenerator | None = None) -> None:
    """'Collect now': collect the sources of the config the dashboard reads (the demo's after 'Load demo
    data'; dlt's pipelines folder without one) in a `python -m collectors collect` process, with its
    progress one line per source across `area`."""
    if not st.button(strings.COLLECT_BUTTON, key=key, help=strings.COLLECT_HELP, type="primary"):
        return
    if door.allow(access.COLLECT) is None:
        return
    try:
        config = load_config()
    except ConfigError as ex:
        st.error(str(ex))
        return
    if config.is_default and not config.sources:  # no config, and no dlt pipelines folder: never a stored error
        (area or st).info(strings.COLLECT_NOTHING.format(folder=settings.default_pipelines_dir()))
        return
    config_file = ["--config", str(config.path)] if config.path else []
    code, lines = _stream(_collectors("collect", *config_file), strings.COLLECT_RUNNING, strings.COLLECT_FINISHED, area)
    _collect_outcome(code, lines, area or st)


SUMMARY = re.compile(r"^(\d+) sources?, (\d+) new runs?(?:, (\d+) failed)?")


def _collect_outcome(code: int, lines: list[str], area: DeltaGenerator | Any) -> None:
    """What a collect did, from the summary its command printed: counts, then each error on a line."""
    errors = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]
    summary = next((m for line in reversed(lines) if (m := SUMMARY.match(line))), None)
    if summary is None:
        area.error(strings.PAGE_ERROR.format(reason=errors[-1] if errors else f"exit code {code}"))
        return
    sources, new_runs, failed = (int(n or 0) for n in summary.groups())
    values = {"sources": plural(sources, "source"), "new_runs": plural(new_runs, "new run"), "failed": failed}
    if failed or errors:
        area.warning(strings.COLLECT_FAILED.format(**values))
        for error in errors:
            area.text(error)
    else:
        area.success(strings.COLLECT_DONE.format(**values))


def demo_button(area: DeltaGenerator | None = None) -> None:
    """'Load demo data': build the demo with real dlt pipelines in a separate process, then collect it."""
    if not st.button(strings.DEMO_BUTTON, help=strings.DEMO_HELP):
        return
    if door.allow(access.COLLECT) is None:  # the demo writes the store, as a collect does
        return
    code, _ = _stream(_collectors("demo"), strings.DEMO_RUNNING, strings.DEMO_DONE, area)
    if code == 0:
        st.rerun()
    (area or st).error(strings.DEMO_FAILED)
