-- Summary for the one health model (glasspane.pipeline_health), refreshed after every collect with the
-- other summaries: each table's newest load within the volume rule's window, scored by the rule with its
-- default settings, so the Overview and the Alerts page read a few thousand rows instead of scoring
-- every table's history on each view. Only tables with a newer load are scored again.
CREATE TABLE raw.newest_loads (
    location TEXT NOT NULL,
    dataset_name TEXT,
    pipeline_name TEXT,
    table_name TEXT NOT NULL,
    load_id TEXT,
    run_key TEXT,
    loaded_at TIMESTAMPTZ,
    row_count BIGINT,
    baseline DOUBLE,
    mad DOUBLE,
    history BIGINT,
    tolerance DOUBLE,
    lower DOUBLE,
    upper DOUBLE,
    robust_z DOUBLE,
    anomalous BOOLEAN,
    window_days INTEGER  -- the rule's window: the load counts while it is at most this old
);
