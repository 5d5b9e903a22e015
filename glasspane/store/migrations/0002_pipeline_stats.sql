-- Per-pipeline figures the Overview and the alerts need, recomputed after every collect so that
-- pages never aggregate every run: last run, last success, learned cadence, recent row counts.
CREATE TABLE raw.pipeline_stats (
    location TEXT NOT NULL,
    dataset_name TEXT NOT NULL,
    pipeline_name TEXT NOT NULL,
    source TEXT,
    last_status TEXT,
    last_run_at TIMESTAMPTZ,
    last_success_at TIMESTAMPTZ,
    last_row_count BIGINT,
    last_error TEXT,
    last_failed_step TEXT,
    last_run_key TEXT,
    environment TEXT,
    destination_type TEXT,
    runs BIGINT,
    failed_runs BIGINT,
    cadence_s DOUBLE,
    recent_row_counts BIGINT[]
);
