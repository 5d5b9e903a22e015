-- When each run ran: its start, else its end (a `_dlt_loads` row knows only when it was inserted).
-- Stored, not computed per read, so the Runs page's time filter and ordering can skip row groups.
ALTER TABLE raw.runs ADD COLUMN ran_at TIMESTAMPTZ;
UPDATE raw.runs SET ran_at = coalesce(started_at, finished_at);
