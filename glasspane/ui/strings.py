"""Every user-facing sentence of the app in one place."""


# App, sidebar and shared tables

APP_TITLE = "Glasspane"
APP_ICON = "🪟"
# A constant (no data value ever reaches HTML): narrower margins, so tables get the width.
PAGE_STYLE = '<style>[data-testid="stMainBlockContainer"]{padding:2.5rem 1.5rem 3rem 1.5rem}</style>'
TAGLINE = "One pane of glass over every dlt pipeline: where data flows, whether it is healthy, what it is."
EMPTY_STORE = (
    "The pane store is empty: no run has been collected yet. Collect your dlt pipelines now "
    "(the configured sources, or dlt's local pipelines folder when there is no `glasspane.toml`), "
    "or load the demo data to look around."
)
LOADING = "Reading the pane store…"
PAGE_ERROR = "This page could not be shown: {reason}"
PAGE_ERROR_DETAILS = "Details"
COLLECT_BUTTON = "Collect now"
COLLECT_HELP = "Read new runs from every configured source into the store."
COLLECT_RUNNING = "Collecting…"
COLLECT_FINISHED = "Collect finished."
COLLECT_NOTHING = (
    "Nothing to collect yet: there is no `glasspane.toml`, and dlt's pipelines folder `{folder}` does not exist. "
    "Run a dlt pipeline, configure sources, or load the demo data."
)
COLLECT_DONE = "Collected {sources}: {new_runs}."
COLLECT_FAILED = "Collected {sources}: {new_runs}, {failed} with errors."
DEMO_BUTTON = "Load demo data"
DEMO_HELP = "Run four small real dlt pipelines into a local DuckDB file and folder, then collect them."
DEMO_RUNNING = "Building demo data with real dlt pipelines (about half a minute)…"
DEMO_DONE = "Demo data loaded."
DEMO_FAILED = "Building the demo data failed."
FILTER_ALL = "All"  # an empty multiselect filter
TIME_RANGES = {
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "365d": "Last 365 days",
    "all": "All time",
}
LOCATION_HELP = "Where the data lives, by the part that tells locations apart; the full URL is in the detail."
SPARK_HELP = "Rows of its recent loads, from zero: a small wobble looks small, a drop to zero looks like one."

# Sign-in and access

ACCESS_SIGN_IN = "Sign in with your organisation's account to see Glasspane."
ACCESS_SIGN_IN_BUTTON = "Sign in"
ACCESS_SIGN_OUT = "Sign out"
ACCESS_NO_ROLE = "{who} has no role in Glasspane: ask an administrator to add you to [access] in glasspane.toml."
ACCESS_REFUSED = "Refused: {action} ({reason}). The attempt is logged."
ACCESS_SIGNED_IN = "Signed in as {who} ({roles})"
ACCESS_LOCAL = "Local session as {who}: no sign-in, loopback only"
ACCESS_READ_ONLY = "Read-only: no sign-in is configured"

# Overview

NO_PIPELINES = "No pipelines yet."
NO_MATCH_PIPELINES = "No pipeline is in this health state. Clear the filter to see every pipeline."
HEALTH_LABELS = {
    "failing": "Failing",
    "late": "Late",
    "anomalous": "Anomalous",
    "never_seen": "Never seen",
    "healthy": "Healthy",
}
HEALTH_HELP = {
    "failing": "The newest run failed.",
    "late": "No completed load for longer than twice the pipeline's own cadence (the median gap between its recent "
    "loads).",
    "anomalous": "The newest load of one of its tables, within the last 14 days, has an anomalous row count (the "
    "volume rule on Row-count trends).",
    "never_seen": "No load of it has completed yet.",
    "healthy": "Its newest run completed, on time for its cadence.",
}
OVERVIEW_CAPTION = (
    "Failing, late and anomalous pipelines first. Select a row to see its runs, cadence and where it runs."
)
OVERVIEW_RUNS = "{runs} runs in all"
OVERVIEW_ROWS_HELP = "Rows of its last load"

# Runs

NO_MATCH = "No runs match these filters. Widen the time range or clear a filter."
RUN_NOT_FOUND = "The run in this link is not in the store (it may come from another store)."
# Known dlt errors and what to do about them, shown under a failed run's error.
ERROR_HINTS = {
    "Ambiguous reference to catalog or schema": (
        "dlt cannot load into a DuckDB file named like its dataset (e.g. hr.duckdb with dataset hr): "
        "rename the file or the dataset. Glasspane itself reads such files fine."
    ),
}
RUNS_TIMELINE = "Runs per location over time ({bucket} buckets), coloured by status; the dot's size is the run count."
RUNS_HEALTH = "Health of {pipeline} ({dataset}): **{state}**{tables}"
RUNS_HEALTH_TABLES = ": the newest load of {tables} is a volume anomaly"
RUNS_HEALTH_FACTS = " · loads {cadence} · runs in {environment} · {runs}, {failed} failed"
RUN_NO_STEPS = "No step timings for this run."
ROWS_NONE_NO_TRACE = "No row counts for this run (no trace reached a collector)."
ROWS_NONE_FAILED = "No row counts: the run failed in the {step} step, before dlt counted the rows of any table."
ROWS_NONE_IN_TRACE = "No row counts: this run's trace reached a collector but reports no rows for any table."
RUNS_DETAIL_HINT = "Select a run to see its tables, steps and error."

# Row-count trends

TRENDS_EMPTY = (
    "No row counts per table yet. They come from dlt's traces (`trace.pickle`, or the `_trace` tables a pipeline "
    'loads with `pipeline.run([pipeline.last_trace], table_name="_trace")`) and from parquet footers.'
)
TRENDS_NO_POINTS = "No loads of this table in the chosen time range. Widen the time range."
TRENDS_RULE = (
    "Each load is compared with comparable earlier loads: the same hour of the week or day of the week once the "
    "history shows that season (else the plain last {window} days), along the trend. The band is the range that is "
    "not anomalous; red points are anomalies (zero, drop, spike, double load, flatline), a run of them is one alert, "
    "and after a few loads at a new level the baseline moves to it. Hover a point for its load id, count and "
    "baseline; drag across the chart to select a range (double-click clears it)."
)
TRENDS_IN_RANGE = "Selected range: {start} to {end} (UTC)."
TRENDS_ANOMALIES = "Anomalous loads in this range"
TRENDS_NO_ANOMALIES = "No anomalous or marked load in this range."
TRENDS_ANOMALIES_CAPTION = (
    "Select a load, then mark it: *Expected* leaves it out of baselines and alerts; *New normal* moves the baseline "
    "to it. Marks are stored with who and when, and count for alerts, health and this chart alike."
)
TRENDS_BAND_HELP = "The range of rows per load that is not anomalous, in whole rows."
TRENDS_OTHER_TABLES = " Pick another above."
TRENDS_MARK_EXPECTED = "Expected"
TRENDS_MARK_NEW_NORMAL = "New normal"
TRENDS_MARK_CLEAR = "Clear mark"
TRENDS_MARK_SELECT_FIRST = "Select a load in the table first."
TRENDS_MARKED = "Load {load} marked {mark}."
TRENDS_MARK_ASK = "Mark load `{load}` of {table} ({rows} rows, loaded {at}) as **{mark}**?"
TRENDS_MARK_CONFIRM = "Confirm"
TRENDS_MARK_NOT_FOUND = "Load {load} of this table is not in the chosen time range: widen it to mark the load."

# Schema history

SCHEMA_EMPTY = "No stored schema yet: collect a source whose pipelines have loaded at least once."
SCHEMA_ONE_VERSION = "This schema has one stored version so far: nothing to compare yet."
SCHEMA_NO_CHANGES = "These two versions have the same tables, columns, types and hints."
SCHEMA_MISSING_VERSIONS = (
    "{missing} not stored: dlt numbers every change it makes to a schema, but a destination keeps only "
    "the version a completed load used, so intermediate numbers never reach it."
)
SCHEMA_COMPARE = "Compare two versions"
SCHEMA_FEED_DAYS = "New columns in the last … days"
SCHEMA_FEED_DLT = "Show dlt's own columns (_dlt_*)"
SCHEMA_FEED_DLT_HELP = "dlt adds _dlt_id, _dlt_load_id and the like to every table; hidden unless asked for."
SCHEMA_FEED = "New columns in the last {days} days, across every source"
SCHEMA_FEED_EMPTY = "No column appeared in the last {days} days."
CHANGE_LABELS = {
    "table_added": "table added",
    "table_removed": "table removed",
    "column_added": "column added",
    "column_removed": "column removed",
    "type_changed": "type changed",
    "hints_changed": "hints changed",
}

# PII

PII_EMPTY = (
    "No PII column found yet. Tag personal data in your dlt resources with `x-annotation-pii` (e.g. "
    '`columns={"email": {"x-annotation-pii": "email"}}`), then collect again; suspected columns are listed below.'
)
PII_BASIS = {"hint": "Hinted", "inherited": "Inherited", "confirmed": "Confirmed"}
PII_NO_MATCH = "No PII column matches these filters. Clear a filter."
PII_CAPTION = (
    "Hinted: tagged in the dlt schema (`x-annotation-pii`, `x-pii` or any hint naming pii). Confirmed: a person "
    "marked a suspected column below. Inherited: a view or model copies or transforms a PII column. Nested "
    "tables show their root table: that is where a row's personal data starts."
)
PII_SUSPECTED = "Suspected, untagged"
PII_SUSPECTED_CAPTION = (
    "Columns whose names look like personal data but carry no PII hint, judged by name alone (no data value is "
    "read). Select rows to mark them; the decision is stored in the pane store with who and when."
)
PII_SUSPECTED_NONE = "No untagged column has a name that looks personal."
PII_CONFIRM = "Confirm as PII"
PII_DISMISS = "Not PII"
PII_DECIDED = "Recorded {count} as {decision}."
PII_BASIS_HELP = "hint, confirmed or inherited"
PII_SELECT_FIRST = "Select one or more suspected columns in the table first."
PII_EXPORT = "Export confirmed PII as dlt hints"
PII_EXPORT_CAPTION = (
    "Paste into the pipeline so the hint travels with the schema: an import schema (YAML), or `apply_hints` on the "
    "resource. Once collected with the hint, the column shows as hinted."
)
PII_EXPORT_NONE = "No column is confirmed yet: confirm suspected columns above to export them as hints."
DOWNLOAD_CSV = "Download CSV"

# Locations

LOCATIONS_EMPTY = "No location yet: collect a source first."
LOCATIONS_CAPTION = "Each place data lives, trouble first: its datasets, pipelines, destinations and last collect."
LOCATIONS_GRAPH = "Where data flows: where each pipeline runs → the pipeline → its datasets, by location"
LOCATIONS_GRAPH_CAPTION = (
    "Left: the machine folder a pipeline runs in (when its working folder is collected), else the environment dlt "
    "detected. Pipelines are red when failing, amber when late, grey when never seen. Boxes group datasets by the "
    "location they live in. Pick locations to narrow the graph."
)
LOCATIONS_GRAPH_TRUNCATED = "Showing {shown} of {total} pipelines: pick locations to see the rest."

# Alerts

ALERTS_NONE = (
    "No alerts yet. Alerts are raised after a collect by `python -m collectors collect --alert` (or "
    "`python -m collectors alerts`), which evaluates the rules below and notifies Slack."
)
ALERTS_NO_MATCH = "No alerts match these filters. Widen the time range or clear a filter."
ALERTS_NOT_EVALUATED = "Not evaluated yet: run `python -m collectors collect --alert` after your collects."
ALERTS_LAST_EVALUATION = "Last evaluation {when}: {alerts}, {messages}, {delivered} delivered{via}."
ALERTS_NO_DESTINATION = " (no Slack destination configured)"
ALERTS_DETAIL_HINT = "Select one to see its facts."
ALERTS_OPEN_VIEW = "Open the view this alert is about"
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

# Lineage

LINEAGE_EMPTY = (
    "No view or model definitions have been collected yet, so there is no lineage to show. DuckDB sources "
    "collect their views; add a `sql_models` source for materialised models (e.g. dbt's compiled SQL)."
)
LINEAGE_NO_EDGES = "The collected definitions reference no column Glasspane knows, so there is no lineage to show."
LINEAGE_CAPTION = (
    "Data flows left to right. Solid: a direct copy; dashed: transformed (labelled *hashed* when a hash "
    "function wraps it); dotted: used only in a filter or join. Red: PII hinted in the dlt schema; orange: "
    "inherited PII; purple: inherited through a hash (pseudonymised, still personal data)."
)
LINEAGE_TRUNCATED = "{hidden} more edges are not drawn: lower the hops to see the nearest ones."
LINEAGE_ISOLATED = "This column has no lineage within {hops} hops."
LINEAGE_PROBLEMS = "{definitions} could not be traced; their lineage is missing."
INHERITED_PII = "Inherited PII"
PII_FILTERS = "Filtered or joined on PII"
INHERITED_PII_CAPTION = (
    "Columns of views and models that copy or transform a PII column: personal data too. Hashed ones are "
    "pseudonymised, which is still personal data."
)
PII_FILTERS_CAPTION = "Views and models whose rows are filtered or joined on PII, without a column holding it."

# Governance

GOVERNANCE_NO_PII = (
    "No column in the store is tagged as PII. Tag personal data in your dlt resources with "
    '`x-annotation-pii` (e.g. `columns={"email": {"x-annotation-pii": "email"}}`), then collect again.'
)
GOVERNANCE_DELETE = "Delete a data subject"
GOVERNANCE_INTRO = (
    "Plan the deletion of one data subject: every table holding the value in a PII column of this kind, "
    "with dlt's nested child rows and materialised models. Planning never touches a destination."
)
SUBJECT_VALUE = "The subject's value"
SUBJECT_VALUE_HELP = "Never stored: the store and the audit keep only a salted hash of it."
PLAN_BUTTON = "Plan deletion"
PLAN_NOTHING = "No table in the store holds PII of kind '{kind}'."
PLAN_CAPTION = (
    "Statements show the value as a parameter ({placeholder}); the downloads write it in, so handle them "
    "like the data itself. Row counts are estimates from metadata (row counts of past loads)."
)
PLAN_STATEMENTS = "Statements, in the order they run"
PLAN_HISTORY = "This subject's deletion: {line}."
PLAN_NOT_COVERED = "Not covered: these columns look like {kind} by name but carry no PII hint."
PLAN_STALE = "The value changed since this plan was made: plan again."
DOWNLOAD_SQL = "Download SQL"
DOWNLOAD_JSON = "Download JSON"
EXECUTE_CONFIRM = "I confirm: permanently delete these rows in {destinations}. This cannot be undone."
EXECUTE_RETYPE = "Type the subject's value again"
EXECUTE_BUTTON = "Execute deletion"
EXECUTE_SURE = "Last check: delete this subject's rows now, as {who}? The audit will name you."
EXECUTE_SURE_BUTTON = "Yes, delete now"
EXECUTE_CANCEL = "Cancel"
EXECUTE_MISMATCH = "The value typed again does not match the planned subject: nothing was executed."
EXECUTE_NEEDS_SIGN_IN = (
    "Executing needs a signed-in executor, and sign-in is not configured: download the plan, or run "
    "`python -m collectors forget --execute` on this machine (README, Security)."
)
EXECUTE_NOTHING = (
    "Nothing in this plan can be executed from here (DuckDB files, BigQuery and Postgres only): run the exported SQL."
)
EXECUTE_CONFIG = "Cannot read the config for BigQuery credentials: {error}"
EXECUTE_DONE = "Deleted {rows} with {statements}. Every statement is in the audit below."
EXECUTE_INCOMPLETE = "Not complete: some statements did not run. Each one is listed below, with why."
AUDIT = "Deletion audit"
AUDIT_EMPTY = "No deletion has been executed yet."
PLAN_PACKAGES = "Kept load packages: copies of loaded rows that the statements do not delete"
PLAN_PACKAGES_CAPTION = (
    "Pipeline working folders keep each load package's job files, which copy the rows it loaded, the subject's "
    "too. Executing never deletes files: do what each row says, on the machine that folder is on. Pending packages "
    "are not loaded yet: load or abort them before executing, or their rows come back."
)
EXECUTE_PACKAGES_LEFT = "Not deleted from here: the copies of loaded rows in {packages} (above)."
