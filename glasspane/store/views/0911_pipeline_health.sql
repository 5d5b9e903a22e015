-- One health model in SQL too: the `pipelines` view's health is the model of glasspane/pipeline_health.py
-- with its defaults, the first that applies of failing, late, anomalous (the newest load of one of its
-- tables, within the volume rule's window, is a volume anomaly: `raw.newest_loads`), never_seen, healthy.
-- Replaces the definition in 0001_core.sql.
CREATE OR REPLACE VIEW pipelines AS
WITH anomalous AS (
    SELECT DISTINCT location, dataset_name, pipeline_name FROM raw.newest_loads
    WHERE anomalous AND loaded_at >= now() - to_days(window_days)
)
SELECT p.location, p.dataset_name, p.pipeline_name, p.source,
       CASE WHEN raw.health(p.last_status, p.last_success_at, p.cadence_s, 2.0, NULL) = 'healthy'
                 AND a.pipeline_name IS NOT NULL THEN 'anomalous'
            ELSE raw.health(p.last_status, p.last_success_at, p.cadence_s, 2.0, NULL) END AS health,
       p.last_status, p.last_run_at, p.last_success_at, p.last_row_count, p.last_error, p.last_failed_step,
       p.last_run_key, p.environment, p.destination_type, p.runs, p.failed_runs, p.cadence_s, p.recent_row_counts
FROM raw.pipeline_stats p
LEFT JOIN anomalous a
    ON a.location = p.location AND a.dataset_name = p.dataset_name AND a.pipeline_name = p.pipeline_name;
