-- Access control views.

-- Actions the dashboard refused, newest first: when, who tried, what, and why it was refused.
CREATE OR REPLACE VIEW access_log AS
SELECT refused_at, who, action, outcome, reason
FROM raw.access_log;
