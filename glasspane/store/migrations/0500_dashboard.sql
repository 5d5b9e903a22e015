-- Dashboard: per-pipeline table figures recomputed after every collect (so the trend pickers
-- never aggregate every row count), and people's decisions about suspected PII columns.

-- Rebuilt after every collect: each table a pipeline loads, how often, and its newest count.
CREATE TABLE raw.pipeline_tables (
    location TEXT NOT NULL,
    dataset_name TEXT NOT NULL,
    pipeline_name TEXT NOT NULL,
    table_name TEXT NOT NULL,
    loads BIGINT,
    last_loaded_at TIMESTAMPTZ,
    last_row_count BIGINT
);

-- A person's decision about a column whose name looks personal: confirmed PII (of a kind) or
-- not PII. Names and the decision only, never a value; the newest decision per column counts.
CREATE TABLE raw.pii_decisions (
    location TEXT NOT NULL,
    dataset_name TEXT NOT NULL,
    table_name TEXT NOT NULL,
    column_name TEXT NOT NULL,
    decision TEXT NOT NULL,      -- 'confirmed' | 'not_pii'
    pii_kind TEXT,               -- the kind confirmed (NULL for not_pii)
    decided_by TEXT NOT NULL,
    decided_at TIMESTAMPTZ NOT NULL
);
