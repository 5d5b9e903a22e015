-- The mark in force on each load of a table: "expected" or "new normal", with who and when
-- (the newest mark of the load; a load whose newest mark is "cleared" has none).
CREATE OR REPLACE VIEW volume_marks AS
SELECT location, dataset_name, pipeline_name, table_name, load_id, mark, marked_by, marked_at
FROM (
    SELECT *, row_number() OVER (
        PARTITION BY location, dataset_name, pipeline_name, table_name, load_id ORDER BY marked_at DESC
    ) AS newest
    FROM raw.volume_marks
)
WHERE newest = 1 AND mark <> 'cleared';
