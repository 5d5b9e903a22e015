-- One PII truth: a person's decision on the PII page counts wherever a dlt hint counts.
-- The columns of the newest version of each schema, with hints and PII: a column is PII when a dlt hint
-- tags it or a person confirmed it (`pii_origin` 'hint' or 'decision', the hint winning for the kind);
-- a column a person marked "not PII" is neither PII nor suspected (`not_pii`). Replaces the definition
-- in 0001_core.sql; the deletion plans, lineage, the PII inventory and the alert rules read this one.
CREATE OR REPLACE VIEW columns AS
SELECT c.source, c.location, c.dataset_name, c.schema_name, c.table_name, c.column_name, c.data_type,
       c.pii OR coalesce(d.decision = 'confirmed', FALSE) AS pii,
       CASE WHEN c.pii THEN c.pii_kind WHEN d.decision = 'confirmed' THEN d.pii_kind END AS pii_kind,
       c.hints, c.nullable, c.parent_table, c.root_table, c.first_seen_at, c.schema_version,
       CASE WHEN c.pii THEN 'hint' WHEN d.decision = 'confirmed' THEN 'decision' END AS pii_origin,
       NOT c.pii AND coalesce(d.decision = 'not_pii', FALSE) AS not_pii
FROM raw.latest_columns c
LEFT JOIN raw.pii_decisions d USING (location, dataset_name, table_name, column_name);
