-- Remote sources (buckets, BigQuery): table sizes and what collecting them cost.

-- Size of each data table over time, from free table metadata: one row per change of size.
CREATE OR REPLACE VIEW table_sizes AS
SELECT source, location, dataset_name, table_name, num_rows, num_bytes, modified_at,
       first_seen_at, last_seen_at
FROM raw.table_sizes;

-- What each collect of each source cost: bucket requests and bytes read, BigQuery API calls,
-- queries and bytes billed (zero where a source kind has no such cost).
CREATE OR REPLACE VIEW collect_costs AS
SELECT collect_id, source, started_at, status,
       coalesce((stats->>'list_calls')::BIGINT, 0) + coalesce((stats->>'get_calls')::BIGINT, 0) AS requests,
       coalesce((stats->>'bytes_read')::BIGINT, 0) AS bytes_read,
       coalesce((stats->>'api_calls')::BIGINT, 0) AS api_calls,
       coalesce((stats->>'queries')::BIGINT, 0) AS queries,
       coalesce((stats->>'bytes_processed')::BIGINT, 0) AS bytes_processed,
       coalesce((stats->>'bytes_billed')::BIGINT, 0) AS bytes_billed
FROM raw.collect_log;
