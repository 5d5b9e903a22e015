-- Every alert Glasspane raised, newest first in the app: when, which rule, about what, how
-- loud, whether it fired or resolved, and whether Slack got it (or why not).
CREATE OR REPLACE VIEW alerts AS
SELECT a.alerted_at, a.rule_name, a.rule, a.subject, a.severity, a.state, a.title, a.detail,
       a.delivery, a.delivery_error, a.delivered_at, a.attempts, a.link,
       a.pipeline_name, a.dataset_name, a.location, a.table_name, a.happened_at,
       r.alerted_at AS resolved_at, a.facts, a.alert_id, a.evaluation_id, a.resolves
FROM raw.alerts a
LEFT JOIN raw.alerts r ON r.resolves = a.alert_id;
