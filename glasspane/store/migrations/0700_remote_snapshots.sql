-- One row per collect that took a dataset's table size snapshot (every collect of a BigQuery
-- dataset, new loads or not). The sizes themselves stay in raw.table_sizes, one row per change:
-- the size of a table at a snapshot is the row whose first_seen_at..last_seen_at holds its time.
CREATE TABLE raw.table_size_snapshots (
    source TEXT NOT NULL,
    location TEXT NOT NULL,
    dataset_name TEXT NOT NULL,
    collected_at TIMESTAMPTZ NOT NULL,
    tables INTEGER NOT NULL
);
