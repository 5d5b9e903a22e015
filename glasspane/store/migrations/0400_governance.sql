-- Governance: view and model definitions, the column lineage computed from them after every
-- collect, the PII it carries downstream, and the audit of executed deletions.

-- View and model definitions a source read (DuckDB views, BigQuery views, SQL model files).
-- The SQL is stored to compute lineage, with e-mail addresses and credentials redacted.
CREATE TABLE raw.definitions (
    source TEXT NOT NULL,
    location TEXT NOT NULL,
    dataset_name TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,          -- 'view' | 'model' (a materialised table)
    dialect TEXT NOT NULL,       -- sqlglot dialect of the SQL
    sql TEXT NOT NULL,
    origin TEXT,                 -- where it was read: duckdb_views(), INFORMATION_SCHEMA.VIEWS, a file
    first_seen_at TIMESTAMPTZ,
    last_seen_at TIMESTAMPTZ
);

-- Rebuilt after every collect: what lineage found for each definition (its columns, or why not).
CREATE TABLE raw.definition_status (
    location TEXT NOT NULL,
    dataset_name TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    columns TEXT[],
    error TEXT,
    input_key TEXT               -- unchanged SQL and inputs: the next refresh reuses this result
);

-- Rebuilt after every collect: derived column (NULL for a table-level filter) <- upstream column.
CREATE TABLE raw.column_lineage (
    location TEXT NOT NULL,
    dataset_name TEXT NOT NULL,
    table_name TEXT NOT NULL,
    column_name TEXT,
    upstream_dataset TEXT NOT NULL,
    upstream_table TEXT NOT NULL,
    upstream_column TEXT NOT NULL,
    kind TEXT NOT NULL,          -- 'direct' | 'transformed' | 'filter'
    hashed BOOLEAN NOT NULL,
    expression TEXT,
    definition_kind TEXT NOT NULL
);

-- Rebuilt after every collect: PII carried from hinted columns into derived ones.
CREATE TABLE raw.inherited_pii (
    location TEXT NOT NULL,
    dataset_name TEXT NOT NULL,
    table_name TEXT NOT NULL,
    column_name TEXT,
    pii_kind TEXT,
    relation TEXT NOT NULL,      -- 'direct' | 'transformed' | 'filter'
    pseudonymised BOOLEAN NOT NULL,
    origin_dataset TEXT NOT NULL,
    origin_table TEXT NOT NULL,
    origin_column TEXT NOT NULL,
    via_dataset TEXT NOT NULL,
    via_table TEXT NOT NULL,
    via_column TEXT NOT NULL,
    hops INTEGER NOT NULL,
    value_expression TEXT,
    definition_kind TEXT NOT NULL
);

-- One row per statement of an executed deletion plan. Never the subject's value: a salted hash.
CREATE TABLE raw.deletion_audit (
    plan_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    executed_at TIMESTAMPTZ NOT NULL,
    executed_by TEXT NOT NULL,
    column_kind TEXT NOT NULL,
    subject_hash TEXT NOT NULL,
    location TEXT NOT NULL,
    dataset_name TEXT NOT NULL,
    table_name TEXT NOT NULL,
    action TEXT NOT NULL,
    status TEXT NOT NULL,        -- 'deleted' | 'failed' | 'rolled_back' | 'not_run'
    rows_deleted BIGINT,
    statement TEXT,              -- with the subject as a parameter, never its value
    error TEXT
);
