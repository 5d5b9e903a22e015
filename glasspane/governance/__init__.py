"""Governance: where personal data is (hints, name suspicion, lineage) and how one subject's rows are deleted.

- `lineage`: column lineage of views and models, and the PII it carries downstream (pure);
- `lineage_refresh`: the lineage tables derived from the store's definitions and columns (pure);
- `pii`, `pii_hints`: columns whose names look personal; dlt hints to declare them;
- `subjects`: a data subject's value checked, hashed and scrubbed from messages;
- `deletion/`: the deletion plan's model, how it is planned, the destinations it runs on, its execution.
"""
