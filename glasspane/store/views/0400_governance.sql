-- Governance views: definitions, column lineage, inherited PII and the deletion audit.

-- Every collected view and model definition, with the columns lineage found or why it could not.
CREATE OR REPLACE VIEW definitions AS
SELECT d.source, d.location, d.dataset_name, d.name, d.kind, d.dialect, d.origin, s.columns,
       s.error AS lineage_error, d.sql, d.first_seen_at, d.last_seen_at
FROM raw.definitions d
LEFT JOIN raw.definition_status s USING (location, dataset_name, name);

-- Column-level lineage: a derived column (NULL for a filter: the whole table) and an upstream
-- column it depends on, as a direct copy, transformed (hashed or not) or only in a filter or join.
CREATE OR REPLACE VIEW column_lineage AS
SELECT location, dataset_name, table_name, column_name, upstream_dataset, upstream_table,
       upstream_column, kind, hashed, expression, definition_kind
FROM raw.column_lineage;

-- Derived columns that hold personal data because they copy or transform a hinted PII column.
CREATE OR REPLACE VIEW inherited_pii AS
SELECT location, dataset_name, table_name, column_name, pii_kind, relation, pseudonymised,
       origin_dataset || '.' || origin_table || '.' || origin_column AS inherited_from,
       via_dataset || '.' || via_table || '.' || via_column AS inherited_via,
       'inherited via ' || via_dataset || '.' || via_table || '.' || via_column
           || CASE WHEN pseudonymised THEN ' (hashed: pseudonymised)' ELSE '' END AS note,
       hops, definition_kind, value_expression
FROM raw.inherited_pii
WHERE relation <> 'filter';

-- Views and models whose rows are filtered or joined on a PII column without selecting it.
CREATE OR REPLACE VIEW pii_filters AS
SELECT location, dataset_name, table_name, pii_kind,
       via_dataset || '.' || via_table || '.' || via_column AS filtered_on,
       origin_dataset || '.' || origin_table || '.' || origin_column AS inherited_from,
       hops, definition_kind
FROM raw.inherited_pii
WHERE relation = 'filter';

-- Every statement of every executed deletion plan: what, where, when, by whom, how many rows.
CREATE OR REPLACE VIEW deletion_audit AS
SELECT plan_id, step, executed_at, executed_by, column_kind, subject_hash, location, dataset_name,
       table_name, action, status, rows_deleted, statement, error
FROM raw.deletion_audit;
