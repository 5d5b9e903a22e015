-- Alerts: every alert raised (and how its delivery went), each rule's subjects between
-- evaluations, and each evaluation. Facts hold names, counts, times and error first lines only.
CREATE TABLE raw.alerts (
    alert_id TEXT NOT NULL,
    evaluation_id TEXT NOT NULL,
    alerted_at TIMESTAMPTZ NOT NULL,
    rule_name TEXT NOT NULL,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,            -- firing | resolved
    subject_key TEXT NOT NULL,
    subject TEXT NOT NULL,
    title TEXT NOT NULL,
    facts JSON,                     -- [[label, value], ...]
    detail TEXT,                    -- an error's first line, the list of changes
    link TEXT,
    happened_at TIMESTAMPTZ,
    pipeline_name TEXT,
    dataset_name TEXT,
    location TEXT,
    table_name TEXT,
    resolves TEXT,                  -- a resolved alert: the firing alert it closes
    delivery TEXT NOT NULL,         -- delivered | failed | pending | suppressed | not_sent
    delivery_error TEXT,
    delivered_at TIMESTAMPTZ,
    attempts INTEGER NOT NULL DEFAULT 0,
    redeliver BOOLEAN NOT NULL DEFAULT FALSE,  -- a failed delivery later evaluations send again
    claimed_at TIMESTAMPTZ,         -- an evaluation is sending it: others leave it alone until the claim expires
    message_id TEXT                 -- the Slack message that carried it (a summary carries several)
);

CREATE TABLE raw.alert_state (
    rule_name TEXT NOT NULL,
    subject_key TEXT NOT NULL,
    status TEXT NOT NULL,           -- firing | ok
    since TIMESTAMPTZ,
    fingerprint TEXT,               -- schema/pii: the version last seen; volume: the newest load judged
    last_notified_at TIMESTAMPTZ,
    alert_id TEXT,
    notified BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE raw.alert_evaluations (
    evaluation_id TEXT NOT NULL,
    evaluated_at TIMESTAMPTZ NOT NULL,
    rules TEXT[],
    alerts INTEGER,
    messages INTEGER,
    delivered INTEGER,
    failed INTEGER,
    destination TEXT,               -- 'webhook', 'bot token', or NULL when none is configured
    errors TEXT[]                   -- a rule that could not be evaluated, one line each
);
