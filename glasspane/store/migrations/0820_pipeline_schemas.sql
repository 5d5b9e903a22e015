-- Summaries for the alert rules, rebuilt after every collect with the pipeline stats: each
-- pipeline's newest run in full (so health needs no join to every run), and the schemas its runs
-- load (so schema alerts and table scopes need no scan of every run).

ALTER TABLE raw.pipeline_stats ADD COLUMN last_started_at TIMESTAMPTZ;
ALTER TABLE raw.pipeline_stats ADD COLUMN last_load_id TEXT;

CREATE TABLE raw.pipeline_schemas (
    location TEXT NOT NULL,
    dataset_name TEXT NOT NULL,
    pipeline_name TEXT NOT NULL,
    schema_name TEXT NOT NULL
);
