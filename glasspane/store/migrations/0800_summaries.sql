-- Summaries the store derives from what was collected, rebuilt after every collect by
-- `glasspane.store.summaries.refresh`, so a page view never aggregates every run or schema column.

-- Was a view that joined every run on each read; now rebuilt from `raw.location_aliases_live`.
DROP VIEW IF EXISTS raw.location_aliases;
CREATE TABLE raw.location_aliases (
    alias TEXT NOT NULL,      -- a `local://host/folder` location of a pipeline working folder
    location TEXT NOT NULL       -- the destination location its runs resolve to
);

-- The `columns` view's rows: the columns of the newest version of each schema, first seen when.
CREATE TABLE raw.latest_columns (
    source TEXT,
    location TEXT,
    dataset_name TEXT,
    schema_name TEXT,
    table_name TEXT,
    column_name TEXT,
    data_type TEXT,
    pii BOOLEAN,
    pii_kind TEXT,
    hints JSON,
    nullable BOOLEAN,
    parent_table TEXT,
    root_table TEXT,
    first_seen_at TIMESTAMPTZ,
    schema_version BIGINT
);

-- Column names without a PII hint that look personal (judged by name alone), and why.
CREATE TABLE raw.suspected_names (
    table_name TEXT NOT NULL,
    column_name TEXT NOT NULL,
    suspected_kind TEXT NOT NULL,
    reason TEXT NOT NULL
);
