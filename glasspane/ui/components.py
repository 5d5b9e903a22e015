"""Panels the pages share: the error guard, the empty state, and the collect and demo actions."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from glasspane import access, settings
from glasspane.dlt_meta import redact
from glasspane.queries import pipelines as pipeline_queries
from glasspane.ui import access as door
from glasspane.ui import data, strings


@contextlib.contextmanager
def page_guard() -> Iterator[None]:
    """Show a clear message instead of a traceback when a page fails; details in an expander."""
    try:
        yield
    except ScriptControlException:  # st.stop(), st.rerun() and st.switch_page() are not failures
        raise
    except Exception as ex:
        reason = redact(str(ex).splitlines()[0]) if str(ex) else type(ex).__name__
        st.error(strings.PAGE_ERROR.format(reason=reason))
        with st.expander(strings.PAGE_ERROR_DETAILS):  # no data value or credential, as everywhere
            st.code(redact("".join(traceback.format_exception(ex)), limit=20_000), language="text")


def store_is_empty() -> bool:
    """True when the store holds no run yet."""
    return data.query(pipeline_queries.is_empty)


def stop_if_empty() -> None:
    """On an empty store, show what to do (collect, or load the demo) and end the page's run."""
    if store_is_empty():
        empty_state()
        st.stop()


def empty_state() -> None:
    """What to do when there is nothing to show: collect, or load the demo."""
    st.info(strings.EMPTY_STORE)
    left, right, _ = st.columns([1, 1, 3])
    with left:
        collect_button(key="empty_collect")
    with right:
        demo_button()


def collect_button(key: str = "collect") -> None:
    """'Collect now': collect the sources of the config the dashboard reads (the demo's after 'Load demo
    data'; dlt's pipelines folder without one) with progress."""
    if not st.button(strings.COLLECT_BUTTON, key=key, help=strings.COLLECT_HELP, type="primary"):
        return
    if door.allow(access.COLLECT) is None:
        return
    from collectors import registry
    from collectors.runner import Progress, collect
    from glasspane.config import ConfigError, load_config

    try:
        config = load_config()
        collectors = registry.build_all(config)
    except ConfigError as ex:
        st.error(str(ex))
        return
    if not collectors and config.is_default:  # no config, and no dlt pipelines folder: never a stored error
        st.info(strings.COLLECT_NOTHING.format(folder=settings.default_pipelines_dir()))
        return
    latest = {"progress": Progress(message=strings.COLLECT_RUNNING)}
    result: dict[str, object] = {}

    def work() -> None:
        try:
            result["summary"] = collect(collectors, data.current_store(), progress=lambda p: latest.update(progress=p))
        except Exception as ex:  # shown below, never as a traceback
            result["error"] = ex

    bar = st.progress(0.0, text=strings.COLLECT_RUNNING)
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    while thread.is_alive():
        progress = latest["progress"]
        bar.progress(min(1.0, progress.done / max(progress.total, 1)), text=progress.message or strings.COLLECT_RUNNING)
        time.sleep(0.1)
    bar.empty()
    if "error" in result:
        st.error(strings.PAGE_ERROR.format(reason=result["error"]))
        return
    summary = result["summary"]
    failed = [o for o in summary.outcomes if o.status != "ok"]
    values = {"sources": len(summary.outcomes), "new_runs": summary.new_runs, "failed": len(failed)}
    if failed:
        st.warning(strings.COLLECT_FAILED.format(**values))
        for outcome in failed:
            for error in outcome.errors:
                st.text(error)
    else:
        st.success(strings.COLLECT_DONE.format(**values))


def demo_button() -> None:
    """'Load demo data': build the demo with real dlt pipelines in a separate process, then collect it."""
    if not st.button(strings.DEMO_BUTTON, help=strings.DEMO_HELP):
        return
    if door.allow(access.COLLECT) is None:  # the demo writes the store, as a collect does
        return
    command = [sys.executable, "-m", "collectors", "demo", "--quiet", "--store", settings.store_location()]
    with st.status(strings.DEMO_RUNNING, expanded=True) as status:
        process = subprocess.Popen(
            command, cwd=settings.PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert process.stdout is not None
        for line in process.stdout:
            if line.strip():
                st.text(line.rstrip())
        if process.wait() == 0:
            status.update(label=strings.DEMO_DONE, state="complete", expanded=False)
            st.rerun()
        status.update(label=strings.DEMO_FAILED, state="error")
