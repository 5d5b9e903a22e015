-- Each table's size at each collect that took a snapshot of its dataset (free table metadata).
CREATE OR REPLACE VIEW table_size_snapshots AS
SELECT s.source, s.location, s.dataset_name, s.collected_at, t.table_name, t.num_rows, t.num_bytes, t.modified_at
FROM raw.table_size_snapshots s
JOIN raw.table_sizes t
  ON t.source = s.source AND t.location = s.location AND t.dataset_name = s.dataset_name
 AND s.collected_at BETWEEN t.first_seen_at AND t.last_seen_at;
