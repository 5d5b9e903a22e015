-- The documented pane store contract: users query these views with SQL; the app reads only them.
-- Re-created on every write, so a store always carries the views of the code that last wrote it.

-- One row per run across every source; a load seen by several sources is merged into one row.
CREATE OR REPLACE VIEW runs AS
SELECT source, location, pipeline_name, dataset_name, schema_name, load_id, status,
       started_at, finished_at, ran_at, row_count, error, environment, failed_step,
       destination_type, transaction_id, run_key, seen_by, execution_context
FROM raw.runs
WHERE NOT is_trace_upload;

-- Rows per table per load (from traces and file footers), dlt's own tables left out.
CREATE OR REPLACE VIEW table_counts AS
SELECT source, location, dataset_name, load_id, table_name, row_count, schema_name
FROM raw.table_counts
WHERE NOT (starts_with(table_name, '_dlt_') OR table_name = '_trace' OR starts_with(table_name, '_trace__'));

-- Step timings of each run.
CREATE OR REPLACE VIEW run_steps AS
SELECT run_key, step, started_at, finished_at,
       date_diff('millisecond', started_at, finished_at) / 1000.0 AS duration_s, error
FROM raw.run_steps;

-- Internal: a pipeline working folder does not always know where its pipeline loads (a failed
-- run's trace names no destination). Its records then carry a `local://host/folder` location,
-- resolved here to the destination that the same folder's later traces name, else to where the
-- same runs were seen by another source. Computed from every run: the merge of a collect reads
-- it, and the table `raw.location_aliases` keeps its rows for readers between collects.
CREATE OR REPLACE VIEW raw.location_aliases_live AS
WITH working_folders AS (
    SELECT DISTINCT source, location, pipeline_name, dataset_name FROM raw.run_observations
    WHERE starts_with(location, 'local://')
),
same_folder AS (
    SELECT w.location AS alias, arg_max(o.location, o.started_at) AS location
    FROM working_folders w
    JOIN raw.run_observations o
      ON o.source = w.source AND o.pipeline_name = w.pipeline_name AND o.dataset_name = w.dataset_name
    WHERE NOT starts_with(o.location, 'local://')
    GROUP BY w.location
),
same_runs AS (
    SELECT o.location AS alias, arg_max(r.location, r.started_at) AS location
    FROM raw.run_observations o
    JOIN raw.runs r USING (run_key)
    WHERE starts_with(o.location, 'local://') AND NOT starts_with(r.location, 'local://')
    GROUP BY o.location
)
SELECT * FROM same_folder
UNION ALL
SELECT * FROM same_runs WHERE alias NOT IN (SELECT alias FROM same_folder);

-- Internal: every stored schema version with its location resolved, one row per source.
CREATE OR REPLACE VIEW raw.schema_versions_resolved AS
SELECT v.*, coalesce(a.location, v.location) AS resolved_location,
       coalesce(s.kind = 'pipelines_dir', TRUE) AS from_working_folder
FROM raw.schema_versions v
LEFT JOIN raw.location_aliases a ON v.location = a.alias
LEFT JOIN raw.sources s USING (source);

-- Stored schema versions; a version known to several sources appears once.
CREATE OR REPLACE VIEW schema_versions AS
SELECT source, resolved_location AS location, dataset_name, schema_name, version, version_hash,
       inserted_at, engine_version
FROM raw.schema_versions_resolved
QUALIFY row_number() OVER (
    PARTITION BY resolved_location, dataset_name, schema_name, version_hash
    ORDER BY from_working_folder, source
) = 1;

-- Internal: the columns of the newest version of each schema, computed from every stored column;
-- rebuilt into `raw.latest_columns` after each collect.
CREATE OR REPLACE VIEW raw.columns_live AS
WITH latest AS (
    SELECT * FROM raw.schema_versions_resolved
    QUALIFY row_number() OVER (
        PARTITION BY resolved_location, dataset_name, schema_name
        ORDER BY version DESC NULLS LAST, from_working_folder, inserted_at DESC NULLS LAST
    ) = 1
),
first_seen AS (
    SELECT v.resolved_location, c.dataset_name, c.schema_name, c.table_name, c.column_name,
           min(v.inserted_at) AS first_seen_at
    FROM raw.schema_columns c
    JOIN raw.schema_versions_resolved v USING (source, location, dataset_name, schema_name, version_hash)
    GROUP BY ALL
)
SELECT l.source, l.resolved_location AS location, l.dataset_name, l.schema_name, c.table_name,
       c.column_name, c.data_type, c.pii, c.pii_kind, c.hints, c.nullable, c.parent_table,
       c.root_table, f.first_seen_at, l.version AS schema_version
FROM latest l
JOIN raw.schema_columns c USING (source, location, dataset_name, schema_name, version_hash)
LEFT JOIN first_seen f USING (resolved_location, dataset_name, schema_name, table_name, column_name)
WHERE NOT (starts_with(c.table_name, '_dlt_') OR c.table_name = '_trace' OR starts_with(c.table_name, '_trace__'));

-- The columns of the newest version of each schema, with hints, PII tag and when first seen.
CREATE OR REPLACE VIEW columns AS
SELECT source, location, dataset_name, schema_name, table_name, column_name, data_type, pii, pii_kind, hints,
       nullable, parent_table, root_table, first_seen_at, schema_version
FROM raw.latest_columns;

-- Every configured source and how its last collect went.
CREATE OR REPLACE VIEW sources AS
SELECT source, kind, location, last_collect_at, last_success_at, status, error, datasets, runs,
       first_collect_at
FROM raw.sources;

-- Every collect of every source.
CREATE OR REPLACE VIEW collect_log AS
SELECT collect_id, source, started_at, finished_at, status, datasets, new_runs, errors
FROM raw.collect_log;

-- Every dataset (or pipeline working folder) the sources discovered.
CREATE OR REPLACE VIEW datasets AS
SELECT source, location, dataset_name, destination_type, first_seen_at, last_seen_at
FROM raw.datasets;

-- Health of a pipeline, one definition for the Overview and the alerts:
-- failing: its newest run failed; never_seen: no load of it ever completed;
-- late: no completed load for longer than `factor` times its learned cadence (the median gap
-- between its recent completed loads), or than `max_age_s` when given; healthy otherwise.
CREATE OR REPLACE MACRO raw.health(last_status, last_success_at, cadence_s, factor, max_age_s) AS
    CASE
        WHEN last_status = 'failed' THEN 'failing'
        WHEN last_success_at IS NULL THEN 'never_seen'
        WHEN max_age_s IS NOT NULL AND epoch(now()) - epoch(last_success_at::TIMESTAMPTZ) > max_age_s THEN 'late'
        WHEN max_age_s IS NULL AND cadence_s IS NOT NULL
             AND epoch(now()) - epoch(last_success_at::TIMESTAMPTZ) > factor * cadence_s THEN 'late'
        ELSE 'healthy'
    END;

-- One row per pipeline (per location and dataset): its newest run, last success, health.
CREATE OR REPLACE VIEW pipelines AS
SELECT location, dataset_name, pipeline_name, source,
       raw.health(last_status, last_success_at, cadence_s, 2.0, NULL) AS health,
       last_status, last_run_at, last_success_at, last_row_count, last_error, last_failed_step,
       last_run_key, environment, destination_type, runs, failed_runs, cadence_s, recent_row_counts
FROM raw.pipeline_stats;
