-- The health summary keeps what the seasonal volume rule says of each table's newest load: the
-- person's mark on it, the grouping it was compared with, whether it starts an anomalous run, and
-- its kind (zero, drop, spike, double, flatline, new normal).
ALTER TABLE raw.newest_loads ADD COLUMN mark TEXT;
ALTER TABLE raw.newest_loads ADD COLUMN marked_by TEXT;
ALTER TABLE raw.newest_loads ADD COLUMN marked_at TIMESTAMPTZ;
ALTER TABLE raw.newest_loads ADD COLUMN season TEXT;
ALTER TABLE raw.newest_loads ADD COLUMN onset BOOLEAN;
ALTER TABLE raw.newest_loads ADD COLUMN kind TEXT;
