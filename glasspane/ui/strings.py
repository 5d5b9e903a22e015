"""Every user-facing sentence of the app in one place."""

APP_TITLE = "Glasspane"
APP_ICON = "🪟"
TAGLINE = "One pane of glass over every dlt pipeline: where data flows, whether it is healthy, what it is."

EMPTY_STORE = (
    "The pane store is empty: no run has been collected yet. Collect your dlt pipelines now "
    "(the configured sources, or dlt's local pipelines folder when there is no `glasspane.toml`), "
    "or load the demo data to look around."
)
NO_MATCH = "No runs match these filters. Widen the time range or clear a filter."
NO_PIPELINES = "No pipelines yet."
RUN_NOT_FOUND = "The run in this link is not in the store (it may come from another store)."
PAGE_ERROR = "This page could not be shown: {reason}"
PAGE_ERROR_DETAILS = "Details"

COLLECT_BUTTON = "Collect now"
COLLECT_HELP = "Read new runs from every configured source into the store."
COLLECT_RUNNING = "Collecting…"
COLLECT_DONE = "Collected {sources} sources: {new_runs} new runs."
COLLECT_FAILED = "Collected {sources} sources: {new_runs} new runs, {failed} with errors."
DEMO_BUTTON = "Load demo data"
DEMO_HELP = "Run four small real dlt pipelines into a local DuckDB file and folder, then collect them."
DEMO_RUNNING = "Building demo data with real dlt pipelines (about half a minute)…"
DEMO_DONE = "Demo data loaded."
DEMO_FAILED = "Building the demo data failed."

TIME_RANGES = {
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "all": "All time",
}

# Known dlt errors and what to do about them, shown under a failed run's error.
ERROR_HINTS = {
    "Ambiguous reference to catalog or schema": (
        "dlt cannot load into a DuckDB file named like its dataset (e.g. hr.duckdb with dataset hr): "
        "rename the file or the dataset. Glasspane itself reads such files fine."
    ),
}

# Alerts page
ALERTS_NONE = (
    "No alerts yet. Alerts are raised after a collect by `python -m collectors collect --alert` (or "
    "`python -m collectors alerts`), which evaluates the rules below and notifies Slack."
)
ALERTS_NO_MATCH = "No alerts match these filters. Widen the time range or clear a filter."
ALERTS_NOT_EVALUATED = "Not evaluated yet: run `python -m collectors collect --alert` after your collects."
ALERTS_LAST_EVALUATION = "Last evaluation {when}: {alerts} new alerts, {messages} messages, {delivered} delivered{via}."
ALERTS_ONE_EVALUATION = "Showing the alerts of one evaluation (the link of a Slack summary)."
ALERTS_SHOW_ALL = "Show all alerts"
ALERTS_NOT_FOUND = "The alert in this link is not in the store (it may come from another store)."
ALERTS_RULES = "Rules"
ALERTS_RULES_DEFAULT = "No `[[alerts]]` in glasspane.toml: the default rules apply."
ALERTS_MATCHES_NONE = "Matches nothing now."
ALERTS_CONFIG_ERROR = "The alert rules cannot be read: {error}"
ALERTS_DELIVERY_HELP = (
    "delivered: Slack accepted it. failed: Slack did not (the reason is beside it); later evaluations send "
    "it again. suppressed: held back inside the rule's suppression interval. not_sent: no Slack destination "
    "was configured, or resolve messages are off for the rule. pending: decided, not sent yet."
)
