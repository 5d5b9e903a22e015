-- Sizes of data tables read from free table metadata (BigQuery's tables.get), never by a scan.
-- One row per table per change of its size: a collect that sees the same size moves last_seen_at.
CREATE TABLE raw.table_sizes (
    source TEXT NOT NULL,
    location TEXT NOT NULL,
    dataset_name TEXT NOT NULL,
    table_name TEXT NOT NULL,
    num_rows BIGINT,
    num_bytes BIGINT,
    modified_at TIMESTAMPTZ,
    first_seen_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL
);
