-- Access control: every action the dashboard refused, with who tried it (never a data value).
CREATE TABLE raw.access_log (
    refused_at TIMESTAMPTZ NOT NULL,
    who TEXT,                    -- the signed-in e-mail, the operating-system user, or NULL (anonymous)
    action TEXT NOT NULL,        -- 'view' | 'decide PII' | 'collect now' | 'execute deletion'
    outcome TEXT NOT NULL,       -- 'refused'
    reason TEXT NOT NULL
);
