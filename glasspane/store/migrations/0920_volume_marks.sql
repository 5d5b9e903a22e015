-- People's feedback on volume anomalies: a load of a table marked "expected" (left out of
-- baselines and alerts) or "new normal" (the baseline moves to it), or a mark "cleared";
-- with who and when. Append-only: the newest mark of a load counts. Names and ids only.
CREATE TABLE raw.volume_marks (
    location TEXT NOT NULL,
    dataset_name TEXT NOT NULL,
    pipeline_name TEXT NOT NULL,
    table_name TEXT NOT NULL,
    load_id TEXT NOT NULL,
    mark TEXT NOT NULL,             -- expected | new normal | cleared
    marked_by TEXT NOT NULL,
    marked_at TIMESTAMPTZ NOT NULL
);
