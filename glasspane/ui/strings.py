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
