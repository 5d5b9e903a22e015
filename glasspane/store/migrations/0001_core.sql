-- Core pane store: what collectors observed (raw.*), what the app reads (merged raw tables),
-- and the documented views in the main schema that users query with SQL.
CREATE SCHEMA IF NOT EXISTS raw;

-- One row per configured source: its last collect and its outcome.
CREATE TABLE raw.sources (
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    location TEXT NOT NULL,
    first_collect_at TIMESTAMPTZ,
    last_collect_at TIMESTAMPTZ,
    last_success_at TIMESTAMPTZ,
    status TEXT,
    error TEXT,
    datasets INTEGER,
    runs INTEGER
);

-- Every collect of every source, newest last.
CREATE TABLE raw.collect_log (
    collect_id TEXT NOT NULL,
    source TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    status TEXT NOT NULL,
    datasets INTEGER,
    new_runs INTEGER,
    errors TEXT[],
    stats JSON
);

-- Every dataset (or pipeline working folder) a source discovered, with its incremental cursor.
CREATE TABLE raw.datasets (
    source TEXT NOT NULL,
    dataset_key TEXT NOT NULL,
    location TEXT NOT NULL,
    dataset_name TEXT,
    destination_type TEXT,
    first_seen_at TIMESTAMPTZ,
    last_seen_at TIMESTAMPTZ,
    cursor JSON
);

-- What each source saw of a run. Several sources may see one run (its working folder and its destination).
CREATE TABLE raw.run_observations (
    source TEXT NOT NULL,
    location TEXT NOT NULL,
    run_key TEXT NOT NULL,
    via TEXT NOT NULL,
    load_id TEXT,
    transaction_id TEXT,
    pipeline_name TEXT,
    dataset_name TEXT,
    schema_name TEXT,
    destination_type TEXT,
    status TEXT NOT NULL,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    error TEXT,
    failed_step TEXT,
    environment TEXT,
    execution_context JSON,
    is_trace_upload BOOLEAN NOT NULL DEFAULT FALSE,
    collected_at TIMESTAMPTZ NOT NULL
);

-- Rows per table per load, as some source reported them (traces, _trace tables, file footers).
CREATE TABLE raw.table_count_observations (
    source TEXT NOT NULL,
    location TEXT NOT NULL,
    dataset_name TEXT,
    schema_name TEXT NOT NULL,
    load_id TEXT NOT NULL,
    table_name TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    via TEXT NOT NULL
);

-- Step timings of a run (extract, normalize, load), from traces.
CREATE TABLE raw.run_steps (
    run_key TEXT NOT NULL,
    step TEXT NOT NULL,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    error TEXT
);

-- Stored schema versions, with the schema itself (structure and hints only, never data).
CREATE TABLE raw.schema_versions (
    source TEXT NOT NULL,
    location TEXT NOT NULL,
    dataset_name TEXT NOT NULL,
    schema_name TEXT NOT NULL,
    version_hash TEXT NOT NULL,
    version BIGINT,
    engine_version BIGINT,
    inserted_at TIMESTAMPTZ,
    schema JSON
);

-- The columns of each schema version, with their hints and PII tag.
CREATE TABLE raw.schema_columns (
    source TEXT NOT NULL,
    location TEXT NOT NULL,
    dataset_name TEXT NOT NULL,
    schema_name TEXT NOT NULL,
    version_hash TEXT NOT NULL,
    table_name TEXT NOT NULL,
    column_name TEXT NOT NULL,
    data_type TEXT,
    nullable BOOLEAN,
    pii BOOLEAN NOT NULL,
    pii_kind TEXT,
    hints JSON,
    parent_table TEXT,
    root_table TEXT
);

-- Merged runs: one row per run, whichever sources reported it. Rebuilt for the runs a collect touches.
CREATE TABLE raw.runs (
    run_key TEXT NOT NULL,
    source TEXT NOT NULL,
    location TEXT NOT NULL,
    pipeline_name TEXT,
    dataset_name TEXT,
    schema_name TEXT,
    load_id TEXT,
    transaction_id TEXT,
    destination_type TEXT,
    status TEXT NOT NULL,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    row_count BIGINT,
    error TEXT,
    failed_step TEXT,
    environment TEXT,
    execution_context JSON,
    is_trace_upload BOOLEAN NOT NULL,
    seen_by TEXT[]
);

-- Merged row counts: one row per load and table.
CREATE TABLE raw.table_counts (
    load_id TEXT NOT NULL,
    schema_name TEXT NOT NULL,
    table_name TEXT NOT NULL,
    source TEXT NOT NULL,
    location TEXT NOT NULL,
    dataset_name TEXT,
    row_count BIGINT NOT NULL
);
