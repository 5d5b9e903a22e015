-- Each pipeline's newest completed loads (newest first), which its cadence and recent row counts come
-- from: kept so that a write of new runs grows a pipeline's figures from its stored row, without
-- reading every run it ever had.
ALTER TABLE raw.pipeline_stats ADD COLUMN recent_completed STRUCT(ts TIMESTAMPTZ, row_count BIGINT)[];
