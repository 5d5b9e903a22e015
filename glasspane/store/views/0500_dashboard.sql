-- Dashboard views: decisions about suspected PII, and the inventory of locations.

-- Who decided that a column with a personal-looking name is PII (of which kind) or not, and when.
CREATE OR REPLACE VIEW pii_decisions AS
SELECT location, dataset_name, table_name, column_name, decision, pii_kind, decided_by, decided_at
FROM raw.pii_decisions;

-- Internal: the pipelines whose working folders a `pipelines_dir` source found, and the machine
-- folder (`local://host/path`) each runs in.
CREATE OR REPLACE VIEW raw.working_folders AS
SELECT d.source, d.location, d.dataset_key AS pipeline_name, d.dataset_name, d.destination_type
FROM raw.datasets d JOIN raw.sources s USING (source)
WHERE s.kind = 'pipelines_dir';

-- Internal: what makes a location: its datasets (a working folder's with the pipeline that runs
-- there, as `raw.working_folders` names it) and the pipelines that load into it. `locations` has one row
-- per location here; the Overview's headline counts them. (Each dataset is read once: subtracting the
-- working folders from the datasets and adding them back read them three times, 19 ms against 12.)
CREATE OR REPLACE VIEW raw.location_members AS
SELECT d.location, d.source, d.dataset_name, d.destination_type,
       CASE WHEN s.kind = 'pipelines_dir' THEN d.dataset_key END AS pipeline_name
FROM raw.datasets d LEFT JOIN raw.sources s USING (source)
UNION ALL
SELECT location, source, dataset_name, destination_type, pipeline_name FROM raw.pipeline_stats;

-- Every location (a project, bucket, machine or file): its datasets, the pipelines that load
-- into it or run there, destination types, the sources that read it and their last collect.
CREATE OR REPLACE VIEW locations AS
WITH per_location AS (
    SELECT location,
           list(DISTINCT source ORDER BY source) AS sources,
           list(DISTINCT dataset_name ORDER BY dataset_name) FILTER (WHERE dataset_name IS NOT NULL) AS datasets,
           list(DISTINCT destination_type ORDER BY destination_type)
               FILTER (WHERE destination_type IS NOT NULL) AS destination_types,
           count(DISTINCT (pipeline_name, dataset_name)) FILTER (WHERE pipeline_name IS NOT NULL) AS pipelines
    FROM raw.location_members GROUP BY location
),
health AS (
    SELECT w.location, p.health, p.last_run_at, p.environment
    FROM raw.working_folders w
    JOIN pipelines p ON p.pipeline_name = w.pipeline_name AND p.dataset_name = w.dataset_name
    UNION ALL
    SELECT location, health, last_run_at, environment FROM pipelines
),
health_per_location AS (
    SELECT location,
           count(*) FILTER (WHERE health = 'failing') AS failing,
           count(*) FILTER (WHERE health = 'late') AS late,
           max(last_run_at) AS last_run_at,
           list(DISTINCT environment ORDER BY environment) FILTER (WHERE environment IS NOT NULL) AS environments
    FROM health GROUP BY location
),
collects AS (
    SELECT p.location,
           max(s.last_collect_at) AS last_collect_at,
           CASE WHEN bool_and(s.status = 'ok') THEN 'ok' ELSE 'error' END AS collect_status,
           string_agg(DISTINCT s.source || ': ' || s.error, '; ') FILTER (WHERE s.status <> 'ok') AS collect_error
    FROM per_location p, unnest(p.sources) AS u(source)
    JOIN raw.sources s ON s.source = u.source
    GROUP BY p.location
)
SELECT p.location,
       CASE split_part(p.location, '://', 1)
           WHEN 'bigquery' THEN 'BigQuery project' WHEN 's3' THEN 'S3 bucket' WHEN 'gs' THEN 'GCS bucket'
           WHEN 'az' THEN 'Azure container' WHEN 'abfss' THEN 'Azure container'
           WHEN 'file' THEN 'Folder' WHEN 'duckdb' THEN 'DuckDB file' WHEN 'local' THEN 'Machine'
           ELSE 'Other' END AS kind,
       coalesce(len(p.datasets), 0) AS dataset_count, p.pipelines AS pipeline_count,
       coalesce(h.failing, 0) AS failing, coalesce(h.late, 0) AS late,
       coalesce(p.datasets, []) AS datasets, coalesce(p.destination_types, []) AS destination_types,
       coalesce(h.environments, []) AS environments, p.sources, h.last_run_at,
       c.last_collect_at, coalesce(c.collect_status, 'unknown') AS collect_status, c.collect_error
FROM per_location p
LEFT JOIN health_per_location h USING (location)
LEFT JOIN collects c USING (location);

-- Each table a pipeline loads: how many loads reported its row count, when last, and how many rows.
CREATE OR REPLACE VIEW pipeline_tables AS
SELECT location, dataset_name, pipeline_name, table_name, loads, last_loaded_at, last_row_count
FROM raw.pipeline_tables;
