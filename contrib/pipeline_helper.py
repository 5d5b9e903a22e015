"""Run a dlt pipeline so that its failures reach Slack and every run reaches Glasspane.

For pipelines that run where nothing is kept (a cloud function, a CI job): the run's trace is
loaded into the pipeline's own destination with dlt's documented `_trace` pattern, so Glasspane's
collectors see failures, row counts and where it ran. Depends on dlt only: copy this file into
a pipeline project as it is.

    from pipeline_helper import run_and_report

    run_and_report(pipeline, my_source())  # raises what pipeline.run raised, after reporting it
"""

from __future__ import annotations

import logging
import re
from typing import Any

import dlt
from dlt.common.runtime.slack import send_slack_message

logger = logging.getLogger(__name__)
TRACE_TABLE = "_trace"
_USERINFO = re.compile(r"(?i)([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@")


def run_and_report(
    pipeline: dlt.Pipeline, data: Any, *, slack_hook: str | None = None, load_trace: bool = True, **run_kwargs: Any
) -> Any:
    """`pipeline.run(data, **run_kwargs)`; on failure post to Slack and re-raise; load the trace either way.

    The Slack incoming webhook is `slack_hook`, else dlt's `runtime.slack_incoming_hook`
    (`RUNTIME__SLACK_INCOMING_HOOK`). Posting or loading the trace may fail too: that is logged,
    and never replaces the pipeline's own error.
    """
    try:
        info = pipeline.run(data, **run_kwargs)
    except Exception as ex:
        trace = pipeline.last_trace
        hook = slack_hook or pipeline.runtime_config.slack_incoming_hook
        if hook:
            try:
                send_slack_message(hook, failure_message(pipeline, trace, ex))
            except Exception as slack_error:  # the webhook is a secret: name the error, not the URL
                logger.warning(
                    "could not post the failure of %s to Slack: %s", pipeline.pipeline_name, type(slack_error).__name__
                )
        else:
            logger.warning("%s failed; no Slack webhook (runtime.slack_incoming_hook) to tell", pipeline.pipeline_name)
        if load_trace:
            _load_trace(pipeline, trace)
        raise
    if load_trace:
        _load_trace(pipeline, pipeline.last_trace)
    return info


def _load_trace(pipeline: dlt.Pipeline, trace: Any) -> None:
    """Load a run's trace into the pipeline's destination (dlt's `_trace` pattern).

    After a failed normalize or load step dlt keeps the run's packages pending, and its next
    `run` would load them before anything else: they are loaded first, then both traces.
    """
    traces = [trace] if trace is not None else []
    try:
        if pipeline.has_pending_data:
            pipeline.run()
            traces.append(pipeline.last_trace)
    except Exception as ex:
        logger.warning("could not load the pending packages of %s: %s", pipeline.pipeline_name, _clean(_root_cause(ex)))
        return
    for each in traces:
        try:
            pipeline.run([each], table_name=TRACE_TABLE)
        except Exception as ex:  # dlt 1.31 cannot serialise the trace of a failed load step (AssertionError)
            logger.warning(
                "could not load a trace of %s into its destination: %s", pipeline.pipeline_name, _clean(_root_cause(ex))
            )


def _root_cause(ex: BaseException) -> str:
    """The innermost error of dlt's wrapped exceptions, as 'Type: first line of message'."""
    seen = {id(ex)}
    while True:
        inner = getattr(ex, "exception", None) or ex.__cause__
        if not isinstance(inner, BaseException) or id(inner) in seen:
            break
        seen.add(id(inner))
        ex = inner
    lines = [line.strip() for line in str(ex).splitlines() if line.strip()]
    return f"{type(ex).__name__}: {lines[0] if lines else ''}".strip()


def _clean(text: str) -> str:
    """No passwords in URLs, and Slack's control characters escaped."""
    text = _USERINFO.sub(r"\1***@", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")[:500]


def failure_message(pipeline: dlt.Pipeline, trace: Any, ex: BaseException) -> str:
    """A Slack mrkdwn message: which pipeline, which step, the root error, where it ran."""
    steps = [s for s in getattr(trace, "steps", None) or [] if s.step_exception and s.step != "run"]
    step = steps[0].step if steps else getattr(ex, "step", None) or "unknown"
    context = getattr(trace, "execution_context", None) or {}
    where = ", ".join(context.get("exec_info") or []) or ("ci" if context.get("ci_run") else "local")
    destination = pipeline.destination.destination_name if pipeline.destination else "no destination"
    return (
        f":rotating_light: *{_clean(pipeline.pipeline_name)}* failed in the *{step}* step\n"
        f"*Error:* `{_clean(_root_cause(ex))}`\n"
        f"*Dataset:* `{_clean(pipeline.dataset_name or '')}` · *Destination:* {_clean(destination)} · "
        f"*Ran in:* {_clean(where)}"
    )
