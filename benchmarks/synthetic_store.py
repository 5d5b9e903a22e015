"""A large synthetic pane store, filled by set-based DuckDB SQL in one store write.

    .venv/bin/python -m benchmarks.synthetic_store --runs 1000000 --out /tmp/glasspane-1m.lake
    .venv/bin/python -m benchmarks.synthetic_store --pipelines 1000 --days 365 --out PATH

Pipelines load into 36 destinations (BigQuery projects, S3 prefixes, DuckDB files, local folders),
some also run on one of 4 machines whose working folders a `pipelines_dir` source reads. Each has
its own cadence (hourly to daily), its own tables (nested ones too) and the records the real
collectors write: `_dlt_loads` rows, loaded `_trace` tables (the only way failures are seen without
a working folder), trace uploads, load packages, row counts, step timings, schema versions with
evolution and PII hints. A few pipelines fail now, stopped loading (late) or never loaded, a few
loads drop to zero or spike. Merged runs and row counts follow `glasspane.store.ingest`, then the
post-collect refreshes run (newest loads judged against 4 weeks of history). Times end at the moment of the build.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from glasspane.anomalies import AnomalyRule
from glasspane.records import (
    VIA_COUNT_QUERY,
    VIA_DLT_LOADS,
    VIA_FILE_FOOTER,
    VIA_LOAD_PACKAGE,
    VIA_TRACE,
    VIA_TRACE_TABLE,
)
from glasspane.store import Store, summaries
from glasspane.store.ingest import MERGED_RUN_COLUMNS, PRIORITY_SQL
from glasspane.store.lineage import refresh_lineage

# Cadence (hours between loads) and the share of pipelines that run at it.
CADENCES = ((1, 0.02), (2, 0.035), (4, 0.08), (6, 0.15), (12, 0.32), (24, 0.395))
RUNS_PER_PIPELINE_DAY = 2.74  # what the cadences, late starts and stops give: 1,000 pipelines × 365 days ≈ 1M runs
TRACE_SHARE = 0.3  # pipelines that load their trace (all DuckDB ones too): their failures are visible
FAIL_RATE = 0.045  # of a trace-loading pipeline's runs
WORKING_FOLDER_SHARE = 0.1  # pipelines that also run on a machine a pipelines_dir source reads
# Each table's newest load is judged against 4 weeks of history, not the default rule's 16: judging
# every table's 114 days took 95 % of a build (125 of 132 s at 31k runs), and the build is not measured.
JUDGED_BY = AnomalyRule(season_days=14, month_days=14)
STEPS_DAYS = 30  # step timings are kept for the runs of the last days only
COLLECT_LOG_DAYS = 7  # hourly collects logged

FAMILIES = (
    "shopify",
    "stripe",
    "hubspot",
    "salesforce",
    "zendesk",
    "github",
    "jira",
    "google_ads",
    "facebook_ads",
    "postgres_replica",
    "mongodb_events",
    "segment",
    "intercom",
    "notion",
    "airtable",
    "mailchimp",
    "netsuite",
    "workday",
    "greenhouse",
    "freshdesk",
)
TEAMS = ("sales", "marketing", "finance", "product", "ops", "growth")
ENVIRONMENTS = (  # (environment label, dlt's exec_info, ci_run)
    ("github_actions", ["docker", "github_actions"], True),
    ("airflow", ["airflow", "kubernetes"], False),
    ("kubernetes", ["kubernetes", "docker"], False),
    ("aws_lambda", ["aws_lambda"], False),
    ("dagster", ["dagster", "docker"], False),
    ("gcp_cloud_function", ["gcp_cloud_function"], False),
    ("docker", ["docker"], False),
)
ERRORS = (  # (failed step, error as the trace collectors store it: the innermost exception, type and message)
    (
        "extract",
        "ResourceExtractionError: In processing pipe {table}: extraction of resource {table} in generator "
        "get_{table} caused an exception: 401 Client Error: Unauthorized for url: https://api.{family}.com/v2/{table}",
    ),
    (
        "extract",
        "ResourceExtractionError: In processing pipe {table}: extraction of resource {table} caused an "
        "exception: 429 Client Error: Too Many Requests for url: https://api.{family}.com/v2/{table}?page=41",
    ),
    (
        "extract",
        "ConnectionError: HTTPSConnectionPool(host='api.{family}.com', port=443): Max retries exceeded with "
        "url: /v2/{table} (Caused by NewConnectionError: Failed to establish a new connection)",
    ),
    (
        "normalize",
        "DataValidationError: In schema: {schema}: In Schema: {schema} Table: {table} Column: status. "
        "Contract on data_type with mode freeze is violated. Can't add variant column status__v_bigint",
    ),
    ("load", "DatabaseTransientException: 503 Service Unavailable: the backend is temporarily unable to serve"),
    (
        "load",
        "LoadClientJobFailed: Job for {table}.parquet failed terminally in load {load_id} with message "
        "Access Denied: Table {dataset}.{table}: Permission tables.updateData denied on table {table}",
    ),
)

# Data tables pipelines load, grouped by root table (children follow their parent), with their columns:
# (table, column, data_type, PII kind a tagging pipeline hints, evolution). Evolution: `pk` primary key,
# `added` from the second schema version, `removed` only in the first, `retyped` bigint then double.
# Some personal-looking columns never carry a hint (city, zip, shipping_address, ip, customer_email, ...).
CATALOG = (
    ("customers", "id", "bigint", None, "pk"),
    ("customers", "email", "text", "email", ""),
    ("customers", "first_name", "text", "name", ""),
    ("customers", "last_name", "text", None, ""),
    ("customers", "phone", "text", "phone", ""),
    ("customers", "country", "text", None, ""),
    ("customers", "created_at", "timestamp", None, ""),
    ("customers", "birth_date", "date", "date_of_birth", "added"),
    ("customers", "loyalty_tier", "text", None, "added"),
    ("customers__addresses", "street", "text", "address", ""),
    ("customers__addresses", "city", "text", None, ""),
    ("customers__addresses", "zip", "text", None, ""),
    ("customers__addresses", "country", "text", None, ""),
    ("orders", "id", "bigint", None, "pk"),
    ("orders", "customer_id", "bigint", None, ""),
    ("orders", "total", "bigint", None, "retyped"),
    ("orders", "currency", "text", None, ""),
    ("orders", "status", "text", None, ""),
    ("orders", "created_at", "timestamp", None, ""),
    ("orders", "shipping_address", "text", None, ""),
    ("orders", "legacy_channel", "text", None, "removed"),
    ("orders__items", "sku", "text", None, ""),
    ("orders__items", "quantity", "bigint", None, ""),
    ("orders__items", "price", "double", None, ""),
    ("orders__items__discounts", "code", "text", None, ""),
    ("orders__items__discounts", "amount", "double", None, ""),
    ("users", "id", "bigint", None, "pk"),
    ("users", "username", "text", "name", ""),
    ("users", "email", "text", "email", ""),
    ("users", "ip_address", "text", "ip_address", ""),
    ("users", "signup_at", "timestamp", None, ""),
    ("users", "last_login_ip", "text", None, "added"),
    ("users__roles", "role", "text", None, ""),
    ("events", "id", "text", None, "pk"),
    ("events", "user_id", "bigint", None, ""),
    ("events", "event_type", "text", None, ""),
    ("events", "occurred_at", "timestamp", None, ""),
    ("events", "ip", "text", None, ""),
    ("events", "user_agent", "text", None, "added"),
    ("events__properties", "key", "text", None, ""),
    ("events__properties", "value", "text", None, ""),
    ("tickets", "id", "bigint", None, "pk"),
    ("tickets", "subject", "text", None, ""),
    ("tickets", "status", "text", None, ""),
    ("tickets", "requester_email", "text", "email", ""),
    ("tickets", "created_at", "timestamp", None, ""),
    ("tickets__comments", "author_name", "text", None, ""),
    ("tickets__comments", "body", "text", None, ""),
    ("tickets__comments", "created_at", "timestamp", None, ""),
    ("payments", "id", "bigint", None, "pk"),
    ("payments", "order_id", "bigint", None, ""),
    ("payments", "amount", "bigint", None, "retyped"),
    ("payments", "card_number", "text", "financial", ""),
    ("payments", "iban", "text", None, "added"),
    ("payments", "paid_at", "timestamp", None, ""),
    ("invoices", "id", "bigint", None, "pk"),
    ("invoices", "customer_id", "bigint", None, ""),
    ("invoices", "amount", "double", None, ""),
    ("invoices", "currency", "text", None, ""),
    ("invoices", "customer_email", "text", None, ""),
    ("invoices", "due_at", "timestamp", None, ""),
    ("invoices__lines", "description", "text", None, ""),
    ("invoices__lines", "amount", "double", None, ""),
    ("products", "id", "bigint", None, "pk"),
    ("products", "name", "text", None, ""),
    ("products", "price", "double", None, ""),
    ("products", "category", "text", None, ""),
    ("products", "updated_at", "timestamp", None, ""),
    ("products__variants", "sku", "text", None, ""),
    ("products__variants", "color", "text", None, ""),
    ("employees", "employee_id", "bigint", None, "pk"),
    ("employees", "full_name", "text", "name", ""),
    ("employees", "birth_date", "date", "date_of_birth", ""),
    ("employees", "department", "text", None, ""),
    ("employees", "iban", "text", None, ""),
    ("employees", "salary", "double", None, "added"),
    ("campaigns", "id", "bigint", None, "pk"),
    ("campaigns", "name", "text", None, ""),
    ("campaigns", "budget", "double", None, ""),
    ("campaigns", "started_at", "timestamp", None, ""),
    ("campaigns__ad_stats", "day", "date", None, ""),
    ("campaigns__ad_stats", "impressions", "bigint", None, ""),
    ("campaigns__ad_stats", "clicks", "bigint", None, ""),
    ("campaigns__ad_stats", "spend", "double", None, ""),
    ("sessions", "id", "text", None, "pk"),
    ("sessions", "user_id", "bigint", None, ""),
    ("sessions", "started_at", "timestamp", None, ""),
    ("sessions", "duration_s", "bigint", None, ""),
    ("sessions", "latitude", "double", None, "added"),
    ("sessions", "longitude", "double", None, "added"),
)
# dlt's own tables in every schema (`_trace*` only where the pipeline loads its trace).
DLT_TABLES = (
    ("_dlt_version", "version", "bigint"),
    ("_dlt_version", "engine_version", "bigint"),
    ("_dlt_version", "inserted_at", "timestamp"),
    ("_dlt_version", "schema_name", "text"),
    ("_dlt_version", "version_hash", "text"),
    ("_dlt_version", "schema", "text"),
    ("_dlt_loads", "load_id", "text"),
    ("_dlt_loads", "schema_name", "text"),
    ("_dlt_loads", "status", "bigint"),
    ("_dlt_loads", "inserted_at", "timestamp"),
    ("_dlt_loads", "schema_version_hash", "text"),
    ("_dlt_pipeline_state", "version", "bigint"),
    ("_dlt_pipeline_state", "engine_version", "bigint"),
    ("_dlt_pipeline_state", "pipeline_name", "text"),
    ("_dlt_pipeline_state", "state", "text"),
    ("_dlt_pipeline_state", "created_at", "timestamp"),
    ("_dlt_pipeline_state", "version_hash", "text"),
    ("_dlt_pipeline_state", "_dlt_load_id", "text"),
    ("_dlt_pipeline_state", "_dlt_id", "text"),
    ("_trace", "transaction_id", "text"),
    ("_trace", "pipeline_name", "text"),
    ("_trace", "started_at", "timestamp"),
    ("_trace", "finished_at", "timestamp"),
    ("_trace", "engine_version", "bigint"),
    ("_trace", "_dlt_load_id", "text"),
    ("_trace", "_dlt_id", "text"),
    ("_trace__steps", "span_id", "text"),
    ("_trace__steps", "step", "text"),
    ("_trace__steps", "started_at", "timestamp"),
    ("_trace__steps", "finished_at", "timestamp"),
    ("_trace__steps", "step_exception", "text"),
    ("_trace__steps", "_dlt_parent_id", "text"),
    ("_trace__steps", "_dlt_list_idx", "bigint"),
    ("_trace__steps", "_dlt_id", "text"),
)


@dataclass(frozen=True)
class Summary:
    """What a build wrote, how long it took and how large the store is."""

    path: Path
    pipelines: int
    days: int
    runs: int
    failed_runs: int
    table_counts: int
    observations: int
    schema_columns: int
    seconds: float
    size_bytes: int

    def describe(self) -> str:
        """One line for a terminal."""
        return (
            f"{self.pipelines:,} pipelines × {self.days} days: {self.runs:,} runs ({self.failed_runs:,} failed), "
            f"{self.table_counts:,} table counts, {self.observations:,} run observations, "
            f"{self.schema_columns:,} schema columns; built in {self.seconds:.1f} s, "
            f"{self.size_bytes / 1e6:,.0f} MB"
        )


def plan(runs: int, pipelines: int | None = None) -> tuple[int, int]:
    """(pipelines, days) for a store of about `runs` runs: both grow, pipelines with √runs (up to 1,000 × 365),
    unless the pipeline count is given."""
    pipelines = pipelines or max(10, min(1000, round(math.sqrt(runs))))
    return pipelines, max(1, round(runs / (pipelines * RUNS_PER_PIPELINE_DAY)))


def _places() -> pd.DataFrame:
    """The 40 locations: 36 destinations, each read by its own source (BigQuery by two), and 4 machines."""
    rows = []
    for env in ("prod", "staging"):
        rows += [("bigquery", f"bigquery://acme-{team}-{env}", f"bigquery_{env}", "bigquery") for team in TEAMS]
    rows += [
        ("s3", f"s3://acme-lake-{i % 3}/dlt/{TEAMS[i % 6]}{i // 6 or ''}", f"lake_{i}", "filesystem") for i in range(10)
    ]
    rows += [
        ("duckdb", f"duckdb:///srv/warehouse/{name}.duckdb", f"warehouse_{name}", "duckdb")
        for name in (*TEAMS, "reporting", "sandbox")
    ]
    rows += [("file", f"file:///data/exports/{team}", f"exports_{team}", "filesystem") for team in TEAMS]
    rows += [
        ("local", f"local://gateway-{i}/var/lib/dlt/pipelines", f"gateway_{i}", "pipelines_dir") for i in range(1, 5)
    ]
    frame = pd.DataFrame(rows, columns=["kind", "location", "source", "source_kind"])
    frame["destination_type"] = frame["kind"].map(
        {"bigquery": "bigquery", "s3": "filesystem", "file": "filesystem", "duckdb": "duckdb"}
    )
    frame.insert(0, "place", range(len(frame)))
    return frame


def _catalog() -> pd.DataFrame:
    """CATALOG with each table's position, parent, root and nesting depth."""
    frame = pd.DataFrame(CATALOG, columns=["table_name", "column_name", "data_type", "pii_kind", "evolution"])
    order = list(dict.fromkeys(frame["table_name"]))
    frame["table_ordinal"] = frame["table_name"].map(order.index)
    frame["column_ordinal"] = frame.groupby("table_name").cumcount()
    frame["parent_table"] = frame["table_name"].map(lambda t: t.rsplit("__", 1)[0] if "__" in t else None)
    frame["root_table"] = frame["table_name"].str.split("__").str[0]
    frame["depth"] = frame["table_name"].str.count("__")
    return frame


def _errors() -> pd.DataFrame:
    """ERRORS, numbered."""
    frame = pd.DataFrame(ERRORS, columns=["failed_step", "error"])
    frame["error_no"] = range(len(frame))
    return frame


def _cadence_sql(u: str) -> str:
    """SQL picking a cadence in hours from a uniform value `u`, with the shares of CADENCES."""
    cases, edge = [], 0.0
    for hours, share in CADENCES[:-1]:
        edge += share
        cases.append(f"WHEN {u} < {edge:.4f} THEN {hours}")
    return f"CASE {' '.join(cases)} ELSE {CADENCES[-1][0]} END"


def _load_id(micros: str) -> str:
    """dlt's load id (the package's creation time, seconds with microseconds) from epoch microseconds."""
    return f"(({micros}) // 1000000)::VARCHAR || '.' || lpad((({micros}) % 1000000)::VARCHAR, 6, '0')"


def _fill_pipelines(con: duckdb.DuckDBPyConnection, pipelines: int, days: int, seed: int) -> None:
    """g_pipelines: one row per pipeline with where it loads, how often, and what goes wrong."""
    con.execute(
        f"""CREATE TEMP TABLE g_pipelines AS
        WITH base AS (
            SELECT p, g_u(hash(p, 'place', $seed)) AS u_place,
                   (p * 0.6180339887498949 + $seed * 0.1) % 1 AS u_cadence,  -- low discrepancy: any count has the mix
                   g_u(hash(p, 'start', $seed)) AS u_start, g_u(hash(p, 'phase', $seed)) AS u_phase,
                   hash(p, 'pick', $seed) AS h
            FROM range($pipelines) t(p)
        ),
        shaped AS (
            SELECT b.*, $families[1 + (h % len($families))::INT] || '_' || lpad(p::VARCHAR, 4, '0') AS pipeline_name,
                   CASE WHEN p % 25 = 1 THEN $duckdb_places[1 + p // 25 % len($duckdb_places)]
                        ELSE $destinations[1 + floor(u_place * len($destinations))::INT] END AS place,
                   CASE WHEN p % 97 = 11 THEN $machines[1 + p % len($machines)]
                        WHEN g_u(hash(p, 'folder', $seed)) < {WORKING_FOLDER_SHARE}
                        THEN $machines[1 + ((h // 7) % len($machines))::INT] END AS gateway,
                   {_cadence_sql("u_cadence")} * 3600 AS cadence_s,
                   p % 61 = 3 AS failing_now, p % 53 = 7 AS stopped, p % 97 = 11 AS never_seen,
                   g_u(hash(p, 'pii', $seed)) < 0.6 AS tags_pii, g_u(hash(p, 'xpii', $seed)) < 0.15 AS x_pii_style,
                   (4 + (h // 13) % 14)::INT AS n_tables, (1 + (h // 19) % 5)::INT AS n_versions,
                   CASE WHEN p % 25 = 1 THEN 0 ELSE (h // 17) % 1000 END::INT AS table_offset,
                   (1 + (h // 23) % {len(ENVIRONMENTS)})::INT AS env_no
            FROM base b
        )
        SELECT s.* EXCLUDE (u_place, u_cadence, u_start, u_phase, h),
               pl.location, pl.source, pl.kind, pl.destination_type,
               'dlt.destinations.' || pl.destination_type AS dlt_destination_type,
               g.location AS gateway_location, g.source AS gateway_source,
               s.gateway IS NOT NULL AND p % 3 = 0 AND NOT never_seen AS local_first,
               NOT never_seen AND (pl.kind = 'duckdb' OR failing_now OR g_u(hash(p, 'trace', $seed)) < {TRACE_SHARE})
                   AS trace_loader,
               CASE WHEN p % 10 = 0 THEN 'analytics_raw' ELSE pipeline_name || '_dataset' END AS dataset_name,
               pipeline_name AS schema_name,
               -- seconds before the end of the build: the oldest and the newest run
               (CASE WHEN u_start < 0.2 THEN $days * 86400 * (0.1 + 0.9 * g_u(hash(p, 'age', $seed)))
                     ELSE $days * 86400 END)::BIGINT AS first_s,
               (CASE WHEN stopped THEN 3 * cadence_s + 86400 * (1 + 9 * u_phase)
                     ELSE 0.9 * cadence_s * u_phase END)::BIGINT AS stop_s,
               CASE WHEN never_seen THEN 1 ELSE greatest(1, (first_s - stop_s) // cadence_s + 1) END AS n_runs
        FROM shaped s
        JOIN g_places pl ON pl.place = s.place
        LEFT JOIN g_places g ON g.place = s.gateway""",
        {
            "pipelines": pipelines,
            "days": days,
            "seed": seed,
            "families": list(FAMILIES),
            **{
                name: con.execute(f"SELECT list(place ORDER BY place) FROM g_places WHERE {where}").fetchone()[0]
                for name, where in (
                    ("destinations", "kind <> 'local'"),
                    ("duckdb_places", "kind = 'duckdb'"),
                    ("machines", "kind = 'local'"),
                )
            },
        },
    )
    con.execute(  # a window of consecutive tables from a root table on, wrapping around the catalog
        """CREATE TEMP TABLE g_tables AS
           WITH tables AS (SELECT DISTINCT table_name, table_ordinal, parent_table, root_table, depth FROM g_catalog),
                roots AS (SELECT row_number() OVER (ORDER BY min(table_ordinal)) - 1 AS n, min(table_ordinal) AS start
                          FROM tables GROUP BY root_table),
                windows AS (
                    SELECT p.p, p.n_tables, p.n_versions, t.*,
                           (t.table_ordinal - r.start + n.tables) % n.tables AS j
                    FROM g_pipelines p
                    CROSS JOIN (SELECT count(*) AS tables, (SELECT count(*) FROM roots) AS roots FROM tables) n
                    JOIN roots r ON r.n = p.table_offset % n.roots
                    CROSS JOIN tables t
                )
           SELECT p, table_name, table_ordinal, parent_table, root_table, depth, j, j < 3 AS always,
                  round(pow(10, 1.5 + 2.5 * g_u(hash(p, table_name, 'base')))) * (1 + 2 * depth) AS base_rows,
                  CASE WHEN j < 3 THEN 0 ELSE hash(p, table_name, 'added') % n_versions END AS added_in
           FROM windows WHERE j < n_tables"""
    )


def _fill_runs(con: duckdb.DuckDBPyConnection, seed: int) -> None:
    """g_runs: every run some source saw. Failures show only where a trace does: loaded into the destination,
    or the newest run's trace.pickle in a working folder. A never-seen pipeline has one package pending there."""
    con.execute(
        f"""CREATE TEMP TABLE g_runs AS
        WITH slots AS (SELECT *, unnest(range(n_runs)) AS k FROM g_pipelines),
        timed AS (
            SELECT s.*,
                   $end_us - (stop_s + k * cadence_s) * 1000000
                       - (g_u(hash(p, k, 'jitter', $seed)) * (0.05 * cadence_s + 120) * 1000000)::BIGINT AS started_us,
                   (5 + g_u(hash(p, k, 'x', $seed)) * 90 * pow(cadence_s / 3600, 0.3)) AS extract_s,
                   (1 + g_u(hash(p, k, 'n', $seed)) * 20) AS normalize_s,
                   (3 + g_u(hash(p, k, 'l', $seed)) * 150) AS load_s,
                   local_first AND k = n_runs - 1 AS first_in_folder,  -- failed before any trace named the destination
                   gateway IS NOT NULL AND NOT never_seen AND (k = 0 OR first_in_folder) AS in_folder_trace,
                   CASE WHEN never_seen THEN 'pending'
                        WHEN (failing_now AND k = 0) OR first_in_folder
                             OR (trace_loader AND g_u(hash(p, k, 'fail', $seed)) < {FAIL_RATE}) THEN 'failed'
                        ELSE 'completed' END AS status,
                   CASE WHEN first_in_folder THEN 0 ELSE (hash(p, k, 'error', $seed) % {len(ERRORS)})::INT END
                       AS error_no,
                   md5(p::VARCHAR || ':' || k || ':' || $seed) AS transaction_id
            FROM slots s
        ),
        seen AS (
            SELECT * EXCLUDE (error_no), CASE WHEN status = 'failed' THEN error_no END AS error_no FROM timed
            WHERE status <> 'failed' OR trace_loader OR in_folder_trace
        )
        SELECT f.*, e.failed_step,
               replace(replace(replace(replace(replace(e.error, '{{table}}', tb.table_name), '{{family}}',
                   split_part(f.pipeline_name, '_', 1)), '{{schema}}', f.schema_name), '{{dataset}}', f.dataset_name),
                   '{{load_id}}', {_load_id("f.started_us")}) AS error,
               CASE WHEN e.failed_step = 'extract' THEN NULL ELSE {_load_id("f.started_us")} END AS load_id,
               CASE WHEN e.failed_step = 'extract' THEN 'trace/' || f.transaction_id
                    ELSE f.schema_name || '/' || {_load_id("f.started_us")} END AS run_key,
               CASE WHEN f.never_seen OR f.first_in_folder THEN f.gateway_location || '/' || f.pipeline_name
                    ELSE f.location END AS folder_location,
               CASE WHEN f.status <> 'pending' THEN f.started_us + ((f.extract_s
                   + CASE WHEN e.failed_step = 'extract' THEN 0 ELSE f.normalize_s END
                   + CASE WHEN e.failed_step IS NULL THEN f.load_s ELSE 0 END) * 1000000)::BIGINT END AS finished_us,
               ((f.extract_s + f.normalize_s + f.load_s + 1.5 + g_u(hash(f.p, f.k, 'u', $seed))) * 1000000)::BIGINT
                   AS upload_after_us
        FROM seen f
        LEFT JOIN g_errors e USING (error_no)
        LEFT JOIN g_tables tb ON tb.p = f.p AND tb.j = 0""",
        {"end_us": con.execute("SELECT epoch_us(now())").fetchone()[0], "seed": seed},
    )


def _fill_observations(con: duckdb.DuckDBPyConnection) -> None:
    """raw.run_observations as each source reports a run: `_dlt_loads`, `_trace` tables, working folders."""
    context = """json_object('ci_run', e.ci_run, 'exec_info', e.exec_info, 'python', '3.11.9',
                             'os', 'Linux 6.8.0-1017-aws', 'dlt_version', '1.31.0')::VARCHAR"""
    run = "run_key, load_id, pipeline_name, dataset_name, schema_name, FALSE AS is_trace_upload"
    times = "to_timestamp(started_us / 1e6) AS started_at, to_timestamp(finished_us / 1e6) AS finished_at"
    traced = """transaction_id, environment, execution_context, status, error, failed_step,
                 CASE WHEN failed_step = 'extract' THEN NULL ELSE dlt_destination_type END AS destination_type,
                 to_timestamp(started_us / 1e6 - 0.2) AS started_at, to_timestamp(finished_us / 1e6) AS finished_at"""
    upload = "schema_name || '/' || upload_load_id AS run_key, upload_load_id AS load_id, dataset_name, schema_name"
    con.execute(
        f"""INSERT INTO raw.run_observations BY NAME
        WITH r AS (
            SELECT r.*, e.environment, {context} AS execution_context,
                   {_load_id("r.finished_us + r.upload_after_us")} AS upload_load_id,
                   to_timestamp((r.finished_us + r.upload_after_us) / 1e6) AS uploaded_at,
                   least(now(), to_timestamp(ceil(coalesce(r.finished_us, r.started_us) / 3.6e9) * 3600))
                       AS collected_at  -- by the next hourly collect
            FROM g_runs r JOIN g_environments e ON e.env_no = r.env_no
        )
        SELECT source, location, {run}, '{VIA_DLT_LOADS}' AS via, destination_type, 'completed' AS status,
               {times}, collected_at
        FROM r WHERE status = 'completed'
        UNION ALL BY NAME
        SELECT source, location, {run}, '{VIA_TRACE_TABLE}' AS via, {traced}, collected_at
        FROM r WHERE trace_loader
        UNION ALL BY NAME  -- the load that carried the trace: a run of its own, hidden from `runs`
        SELECT source, location, {upload}, pipeline_name, '{VIA_DLT_LOADS}' AS via, destination_type,
               'completed' AS status, uploaded_at AS started_at, uploaded_at + INTERVAL 1 SECOND AS finished_at,
               FALSE AS is_trace_upload, collected_at
        FROM r WHERE trace_loader AND status <> 'pending'
        UNION ALL BY NAME
        SELECT source, location, {upload}, '{VIA_TRACE_TABLE}' AS via, 'completed' AS status,
               TRUE AS is_trace_upload, collected_at
        FROM r WHERE trace_loader AND status <> 'pending'
        UNION ALL BY NAME  -- load packages kept in the working folder, loaded or still pending
        SELECT gateway_source AS source, folder_location AS location, {run}, '{VIA_LOAD_PACKAGE}' AS via,
               dlt_destination_type AS destination_type, status, {times}, collected_at
        FROM r WHERE gateway IS NOT NULL AND k < 5 AND status <> 'failed'
        UNION ALL BY NAME  -- trace.pickle: the newest run (and the first one, seen before its destination was)
        SELECT gateway_source AS source, folder_location AS location, {run}, '{VIA_TRACE}' AS via, {traced},
               collected_at
        FROM r WHERE in_folder_trace
        ORDER BY collected_at, run_key  -- the order collects appended them"""
    )


def _fill_counts(con: duckdb.DuckDBPyConnection, seed: int) -> None:
    """raw.table_count_observations: rows per loaded table, from traces, file footers or count queries.

    Weekends load less; about one load in 2,000 drops to zero or spikes, and a few pipelines' newest load does.
    """
    rows = """CASE WHEN r.k = 0 AND t.j = 0 AND r.p % 37 = 4 THEN 0
                   WHEN r.k = 0 AND t.j = 0 AND r.p % 41 = 9 THEN t.base_rows * 12
                   ELSE round(t.base_rows * pow(r.cadence_s / 3600, 0.5)
                              * (0.85 + 0.3 * g_u(hash(r.p, r.k, t.j, $seed)))
                              * CASE WHEN dayofweek(to_timestamp(r.started_us / 1e6)) IN (0, 6) THEN 0.6 ELSE 1 END
                              * CASE hash(r.p, r.k, t.j, 'odd', $seed) % 2000 WHEN 0 THEN 0 WHEN 1 THEN 8 ELSE 1 END)
              END"""
    con.execute(
        f"""INSERT INTO raw.table_count_observations BY NAME
        WITH loaded AS (
            SELECT r.source, r.location, r.dataset_name, r.schema_name, r.load_id, r.kind, r.trace_loader,
                   r.gateway_source, r.in_folder_trace, t.table_name,
                   ({rows})::BIGINT AS row_count
            FROM g_runs r JOIN g_tables t ON t.p = r.p
            WHERE r.status = 'completed' AND (t.always OR g_u(hash(r.p, r.k, t.j, 'skip', $seed)) >= 0.07)
        )
        SELECT source, location, dataset_name, schema_name, load_id, table_name, row_count,
               CASE WHEN trace_loader THEN '{VIA_TRACE_TABLE}' WHEN kind = 'bigquery' THEN '{VIA_COUNT_QUERY}'
                    ELSE '{VIA_FILE_FOOTER}' END AS via
        FROM loaded
        UNION ALL
        SELECT gateway_source, location, dataset_name, schema_name, load_id, table_name, row_count, '{VIA_TRACE}'
        FROM loaded WHERE in_folder_trace
        UNION ALL
        SELECT source, location, dataset_name, schema_name, load_id, '_dlt_pipeline_state', 1, '{VIA_TRACE_TABLE}'
        FROM g_runs WHERE trace_loader AND status = 'completed'
        ORDER BY load_id  -- load ids sort by time: the order collects appended them""",
        {"seed": seed},
    )


def _merge(con: duckdb.DuckDBPyConnection) -> None:
    """raw.table_counts and raw.runs from every observation, as `ingest._merge_runs` merges touched ones."""
    con.execute(
        f"""INSERT INTO raw.table_counts BY NAME
        SELECT schema_name, load_id, table_name,
               arg_min(source, {PRIORITY_SQL}) AS source,
               arg_min(location, {PRIORITY_SQL}) AS location,
               arg_min(dataset_name, {PRIORITY_SQL}) AS dataset_name,
               arg_min(row_count, {PRIORITY_SQL}) AS row_count
        FROM raw.table_count_observations GROUP BY ALL ORDER BY load_id;

        INSERT INTO raw.runs BY NAME
        WITH obs AS (SELECT *, {PRIORITY_SQL} AS prio FROM raw.run_observations),
        counts AS (SELECT schema_name, load_id, sum(row_count) AS row_count FROM table_counts GROUP BY ALL),
        merged AS (
            SELECT run_key,
                   {MERGED_RUN_COLUMNS}
            FROM obs GROUP BY run_key
        )
        SELECT m.*, c.row_count FROM merged m LEFT JOIN counts c USING (schema_name, load_id)
        ORDER BY coalesce(m.finished_at, m.started_at), m.run_key;

        UPDATE raw.runs SET location = a.location
        FROM raw.location_aliases_live a WHERE raw.runs.location = a.alias;"""
    )


def _fill_steps(con: duckdb.DuckDBPyConnection) -> None:
    """raw.run_steps of recent runs: every step from traces, the load step from kept load packages."""
    con.execute(
        f"""INSERT INTO raw.run_steps BY NAME
        WITH recent AS (SELECT * FROM g_runs WHERE started_us >= epoch_us(now() - to_days({STEPS_DAYS}))),
        steps AS (
            SELECT r.run_key, s.step, s.n, r.failed_step, r.error,
                   r.started_us + (CASE s.n WHEN 1 THEN 0 WHEN 2 THEN r.extract_s ELSE r.extract_s + r.normalize_s END
                                   * 1000000)::BIGINT AS from_us,
                   CASE s.n WHEN 1 THEN r.extract_s WHEN 2 THEN r.normalize_s ELSE r.load_s END AS seconds,
                   r.trace_loader OR r.in_folder_trace AS traced
            FROM recent r, (VALUES (1, 'extract'), (2, 'normalize'), (3, 'load')) s(n, step)
            WHERE r.trace_loader OR r.in_folder_trace OR (r.gateway IS NOT NULL AND r.k < 5 AND r.status = 'completed')
        )
        SELECT run_key, step, to_timestamp(from_us / 1e6) AS started_at,
               to_timestamp(from_us / 1e6 + seconds) AS finished_at,
               CASE WHEN step = failed_step THEN error END AS error
        FROM steps
        WHERE (traced OR step = 'load')
          AND n <= CASE failed_step WHEN 'extract' THEN 1 WHEN 'normalize' THEN 2 ELSE 3 END"""
    )


def _fill_schemas(con: duckdb.DuckDBPyConnection, seed: int) -> None:
    """raw.schema_versions and raw.schema_columns: a few versions per schema, as each source stored them."""
    con.execute(
        """CREATE TEMP TABLE g_versions AS
        WITH v AS (
            SELECT p.*, unnest(range(least(n_versions, n_runs))) AS version_no FROM g_pipelines p
        )
        SELECT p, version_no, 2 + version_no AS version, schema_name, dataset_name, location, source,
               gateway_source, gateway_location, never_seen, local_first,
               to_base64(unhex(sha256(schema_name || ':' || version_no || ':' || $seed))) AS version_hash,
               to_timestamp(epoch(now()) - first_s + (first_s - stop_s) * version_no / least(n_versions, n_runs)
                            + 600 * g_u(hash(p, version_no, 'at'))) AS inserted_at
        FROM v""",
        {"seed": seed},
    )
    hints = """CASE WHEN c.evolution = 'pk' THEN '{"primary_key": true}'
                    WHEN c.pii_kind IS NOT NULL AND p.tags_pii AND p.x_pii_style THEN '{"x-pii": true}'
                    WHEN c.pii_kind IS NOT NULL AND p.tags_pii THEN json_object('x-annotation-pii', c.pii_kind)::VARCHAR
                    ELSE '{}' END"""
    con.execute(
        f"""CREATE TEMP TABLE g_columns AS
        WITH data_columns AS (
            SELECT v.p, v.version_no, t.table_name, c.column_name, c.column_ordinal,
                   CASE WHEN c.evolution = 'retyped' AND v.version_no >= 1 THEN 'double' ELSE c.data_type END
                       AS data_type,
                   c.evolution <> 'pk' AS nullable, {hints} AS hints, t.parent_table, t.root_table
            FROM g_versions v
            JOIN g_pipelines p ON p.p = v.p
            JOIN g_tables t ON t.p = v.p AND t.added_in <= v.version_no
            JOIN g_catalog c ON c.table_name = t.table_name
            WHERE (c.evolution <> 'added' OR v.version_no >= 1) AND (c.evolution <> 'removed' OR v.version_no = 0)
        ),
        dlt_columns AS (  -- dlt's row identity columns in each data table
            SELECT DISTINCT p, version_no, table_name, x.column_name, 100 + x.n AS column_ordinal, x.data_type,
                   FALSE AS nullable, x.hints, parent_table, root_table
            FROM data_columns,
                 (VALUES (0, '_dlt_load_id', 'text', '{{}}', TRUE), (1, '_dlt_id', 'text',
                         '{{"row_key": true, "unique": true}}', NULL),
                         (2, '_dlt_parent_id', 'text', '{{"parent_key": true}}', FALSE),
                         (3, '_dlt_list_idx', 'bigint', '{{}}', FALSE)) x(n, column_name, data_type, hints, root)
            WHERE x.root IS NULL OR x.root = (parent_table IS NULL)
        ),
        dlt_tables AS (
            SELECT v.p, v.version_no, d.table_name, d.column_name, d.n AS column_ordinal, d.data_type,
                   FALSE AS nullable, '{{}}' AS hints,
                   CASE WHEN d.table_name = '_trace__steps' THEN '_trace' END AS parent_table,
                   split_part(d.table_name, '__', 1) AS root_table
            FROM g_versions v JOIN g_pipelines p ON p.p = v.p
            JOIN g_dlt_tables d ON p.trace_loader OR NOT starts_with(d.table_name, '_trace')
        )
        SELECT * FROM data_columns UNION ALL SELECT * FROM dlt_columns UNION ALL SELECT * FROM dlt_tables"""
    )
    con.execute(
        """CREATE TEMP TABLE g_holders AS  -- the destination's source holds every version; a working folder too
        SELECT p, version_no, source, location FROM g_versions WHERE NOT never_seen
        UNION ALL
        SELECT p, version_no, gateway_source,
               CASE WHEN never_seen OR (local_first AND version_no = 0) THEN gateway_location || '/' || schema_name
                    ELSE location END
        FROM g_versions WHERE gateway_source IS NOT NULL;

        INSERT INTO raw.schema_versions BY NAME
        WITH tables AS (
            SELECT p, version_no, table_name,
                   json_object('name', table_name, 'parent', any_value(parent_table),
                               'columns', json_group_object(column_name, json_merge_patch(
                                   json_object('name', column_name, 'data_type', data_type, 'nullable', nullable),
                                   hints::JSON))) AS definition
            FROM g_columns GROUP BY p, version_no, table_name
        ),
        schemas AS (
            SELECT v.p, v.version_no,
                   json_object('version', any_value(v.version), 'version_hash', any_value(v.version_hash),
                               'engine_version', 11, 'name', any_value(v.schema_name),
                               'tables', json_group_object(t.table_name, t.definition))::VARCHAR AS schema
            FROM g_versions v JOIN tables t USING (p, version_no) GROUP BY v.p, v.version_no
        )
        SELECT h.source, h.location, v.dataset_name, v.schema_name, v.version_hash, v.version,
               11 AS engine_version, v.inserted_at, s.schema
        FROM g_holders h JOIN g_versions v USING (p, version_no) JOIN schemas s USING (p, version_no);

        INSERT INTO raw.schema_columns BY NAME
        SELECT h.source, h.location, v.dataset_name, v.schema_name, v.version_hash, c.table_name, c.column_name,
               c.data_type, c.nullable, coalesce(c.hints::JSON->>'x-annotation-pii' IS NOT NULL
                                                 OR (c.hints::JSON->>'x-pii')::BOOLEAN, FALSE) AS pii,
               c.hints::JSON->>'x-annotation-pii' AS pii_kind, c.hints, c.parent_table, c.root_table
        FROM g_holders h JOIN g_versions v USING (p, version_no) JOIN g_columns c USING (p, version_no)"""
    )


def _fill_sources(con: duckdb.DuckDBPyConnection, days: int, seed: int) -> None:
    """raw.datasets, raw.sources and hourly raw.collect_log rows; one bucket and one BigQuery project fail."""
    con.execute(
        """INSERT INTO raw.datasets BY NAME
        SELECT source, CASE WHEN kind = 'bigquery' THEN split_part(location, '://', 2) || '.' || dataset_name
                            ELSE dataset_name END AS dataset_key,
               location, dataset_name, any_value(destination_type) AS destination_type,
               to_timestamp(epoch(now()) - max(first_s)) AS first_seen_at, now() AS last_seen_at, '{}' AS cursor
        FROM g_pipelines WHERE NOT never_seen GROUP BY ALL
        UNION ALL
        SELECT gateway_source, pipeline_name, gateway_location, dataset_name, dlt_destination_type,
               to_timestamp(epoch(now()) - first_s), now(), '{}'
        FROM g_pipelines WHERE gateway IS NOT NULL"""
    )
    con.execute(
        """INSERT INTO raw.sources BY NAME
        WITH failing AS (
            SELECT 'lake_7' AS source, 'source ''lake_7'': cannot reach the storage endpoint' AS error
            UNION ALL
            SELECT 'bigquery_staging', 'source ''bigquery_staging'': bigquery://acme-growth-staging: access denied '
                   || '(403): the service account lacks bigquery.datasets.get'
        ),
        configured AS (
            SELECT source, any_value(source_kind) AS kind, string_agg(location, ',' ORDER BY location) AS location
            FROM g_places GROUP BY source
        )
        SELECT c.*, now() - to_days($days) AS first_collect_at, now() - INTERVAL 3 MINUTE AS last_collect_at,
               now() - CASE WHEN f.error IS NULL THEN INTERVAL 3 MINUTE ELSE INTERVAL 27 HOUR END AS last_success_at,
               CASE WHEN f.error IS NULL THEN 'ok' ELSE 'error' END AS status, f.error,
               (SELECT count(*) FROM raw.datasets d WHERE d.source = c.source) AS datasets,
               (SELECT count(*) FROM runs r WHERE r.source = c.source) AS runs
        FROM configured c LEFT JOIN failing f USING (source)""",
        {"days": days},
    )
    con.execute(
        f"""INSERT INTO raw.collect_log BY NAME
        SELECT md5('collect:' || h || ':' || $seed) AS collect_id, s.source,
               now() - to_hours(h) - INTERVAL 3 MINUTE AS started_at,
               now() - to_hours(h) - INTERVAL 3 MINUTE + to_seconds((2 + hash(h, s.source) % 40)::DOUBLE)
                   AS finished_at,
               CASE WHEN s.status <> 'ok' AND h < 27 THEN 'error' ELSE 'ok' END AS status, s.datasets,
               (s.runs / ($days * 24) * (0.5 + g_u(hash(h, s.source, 'runs'))))::INTEGER AS new_runs,
               CASE WHEN s.status <> 'ok' AND h < 27 THEN [s.error] ELSE []::VARCHAR[] END AS errors,
               CASE s.kind WHEN 'filesystem' THEN json_object('list_calls', 1 + 2 * s.datasets,
                                                              'get_calls', hash(h, s.source) % 60,
                                                              'bytes_read', hash(h, s.source) % 90000)
                           WHEN 'bigquery' THEN json_object('api_calls', 1 + s.datasets,
                                                            'queries', hash(h, s.source) % 12,
                                                            'bytes_billed', 10485760 * (hash(h, s.source) % 12))
                           ELSE '{{}}'::JSON END AS stats
        FROM raw.sources s, range({COLLECT_LOG_DAYS * 24}) t(h)""",
        {"days": days, "seed": seed},
    )


def _fill_definitions(con: duckdb.DuckDBPyConnection) -> None:
    """raw.definitions: views over the customers and orders tables of some DuckDB datasets, for lineage."""
    con.execute(
        """INSERT INTO raw.definitions BY NAME
        WITH candidates AS (
            SELECT p.source, p.location, p.dataset_name, bool_or(t.table_name = 'orders') AS has_orders
            FROM g_pipelines p JOIN g_tables t ON t.p = p.p AND t.always
            WHERE p.kind = 'duckdb' AND t.table_name IN ('customers', 'orders') AND p.dataset_name <> 'analytics_raw'
            GROUP BY ALL HAVING bool_or(t.table_name = 'customers')
        )
        SELECT source, location, dataset_name, v.name, 'view' AS kind, 'duckdb' AS dialect, v.sql,
               'duckdb_views()' AS origin, now() - INTERVAL 30 DAY AS first_seen_at, now() AS last_seen_at
        FROM candidates,
             (VALUES ('customers_clean', 'SELECT id, lower(email) AS email, md5(email) AS email_md5, country '
                                         || 'FROM customers', FALSE),
                     ('customer_orders', 'SELECT c.id AS customer_id, c.email, o.total, o.created_at FROM customers c '
                                         || 'JOIN orders o ON o.customer_id = c.id WHERE o.status <> ''cancelled''',
                      TRUE),
                     ('customers_by_country', 'SELECT country, count(*) AS customers FROM customers_clean '
                                              || 'GROUP BY country', FALSE)) v(name, sql, needs_orders)
        WHERE has_orders OR NOT v.needs_orders"""
    )


def remove(path: Path) -> None:
    """Remove an embedded store: its catalog, the catalog's side files and its data folder."""
    for side in path.parent.glob(f"{path.name}*"):
        shutil.rmtree(side) if side.is_dir() else side.unlink()


def disk_bytes(path: Path) -> int:
    """What an embedded store takes on disk: its catalog and its data files."""
    files = [path, *path.with_name(path.name + ".files").rglob("*")]
    return sum(f.stat().st_size for f in files if f.is_file())


def build(path: str | Path, pipelines: int, days: int, seed: int = 0) -> Summary:
    """Replace the store at `path` with a synthetic one of `pipelines` pipelines over `days` days."""
    started = time.perf_counter()
    remove(Path(path))
    store = Store(path)
    with store.writer() as con:
        con.execute("CREATE TEMP MACRO g_u(h) AS (h % 1000003) / 1000003.0")  # a hash as a uniform in [0, 1)
        con.register("places_frame", _places())
        con.register("catalog_frame", _catalog())
        con.register("errors_frame", _errors())
        con.register(
            "dlt_frame",
            pd.DataFrame(
                [(*t, i) for i, t in enumerate(DLT_TABLES)], columns=["table_name", "column_name", "data_type", "n"]
            ),
        )
        con.register(
            "env_frame",
            pd.DataFrame(
                [(i + 1, *e) for i, e in enumerate(ENVIRONMENTS)],
                columns=["env_no", "environment", "exec_info", "ci_run"],
            ),
        )
        con.execute(
            """CREATE TEMP TABLE g_places AS SELECT * FROM places_frame;
               CREATE TEMP TABLE g_catalog AS SELECT * FROM catalog_frame;
               CREATE TEMP TABLE g_errors AS SELECT * FROM errors_frame;
               CREATE TEMP TABLE g_dlt_tables AS SELECT * FROM dlt_frame;
               CREATE TEMP TABLE g_environments AS SELECT * FROM env_frame"""
        )
        _fill_pipelines(con, pipelines, days, seed)
        _fill_runs(con, seed)
        _fill_observations(con)
        _fill_counts(con, seed)
        _merge(con)
        _fill_steps(con)
        _fill_schemas(con, seed)
        _fill_sources(con, days, seed)
        _fill_definitions(con)
        summaries.refresh(con, JUDGED_BY)
        refresh_lineage(con)
        runs, failed, counts, observations, columns = con.execute(
            """SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM runs WHERE status = 'failed'),
                      (SELECT count(*) FROM raw.table_counts), (SELECT count(*) FROM raw.run_observations),
                      (SELECT count(*) FROM raw.schema_columns)"""
        ).fetchone()
    return Summary(
        store.path,
        pipelines,
        days,
        runs,
        failed,
        counts,
        observations,
        columns,
        time.perf_counter() - started,
        disk_bytes(store.path),
    )


def main() -> None:
    """The CLI: build one store and print what it holds."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path, help="the store file to write (replaced)")
    parser.add_argument("--runs", type=int, help="about this many runs (chooses --pipelines and --days)")
    parser.add_argument("--pipelines", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    pipelines, days = plan(args.runs) if args.runs else (args.pipelines, args.days)
    print(f"building {pipelines:,} pipelines × {days} days into {args.out} ({dt.datetime.now():%H:%M:%S})")
    print(build(args.out, pipelines, days, args.seed).describe())


if __name__ == "__main__":
    main()
