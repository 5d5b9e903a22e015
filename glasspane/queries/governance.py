"""Governance pages' reads: PII kinds, inherited PII, the deletion audit and a subject's history.

What a deletion plan needs of the store is read beside the planning, in `glasspane.governance.deletion.metadata`."""

from __future__ import annotations

import duckdb
import pandas as pd

from glasspane.queries.common import frame


def known_pii_kinds(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every PII kind some column is tagged with (by a hint, or inherited), sorted."""
    rows = con.execute(
        """SELECT DISTINCT pii_kind FROM columns WHERE pii AND pii_kind IS NOT NULL
           UNION SELECT DISTINCT pii_kind FROM inherited_pii WHERE pii_kind IS NOT NULL
           ORDER BY 1"""
    ).fetchall()
    return [r[0] for r in rows]


def inherited_pii_rows(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Inherited PII in the shape of hinted PII rows (the `columns` view's columns, `pii` true), plus
    `inherited_via`, `inherited_from`, `relation`, `pseudonymised`, `note` and `definition_kind`.

    One row per derived column and PII kind; `source` is the source that collected the definition,
    `schema_name`, `data_type`, `nullable`, `parent_table` and `schema_version` are NULL, `hints` is
    `{}`, `root_table` is the derived table itself, `first_seen_at` is when its definition was, `pii_origin`
    is 'inherited' and `not_pii` false.
    """
    return frame(
        con,
        """WITH d AS (
               SELECT location, dataset_name, name, min(source) AS source, min(first_seen_at) AS first_seen_at
               FROM definitions GROUP BY ALL
           )
           SELECT d.source, i.location, i.dataset_name, NULL::VARCHAR AS schema_name, i.table_name,
                  i.column_name, NULL::VARCHAR AS data_type, TRUE AS pii, i.pii_kind, '{}'::JSON AS hints,
                  NULL::BOOLEAN AS nullable, NULL::VARCHAR AS parent_table, i.table_name AS root_table,
                  d.first_seen_at, NULL::BIGINT AS schema_version, 'inherited' AS pii_origin, FALSE AS not_pii,
                  string_agg(DISTINCT i.inherited_via, ', ' ORDER BY i.inherited_via) AS inherited_via,
                  string_agg(DISTINCT i.inherited_from, ', ' ORDER BY i.inherited_from) AS inherited_from,
                  CASE WHEN bool_and(i.relation = 'direct') THEN 'direct' ELSE 'transformed' END AS relation,
                  bool_and(i.pseudonymised) AS pseudonymised,
                  'inherited via ' || string_agg(DISTINCT i.inherited_via, ', ' ORDER BY i.inherited_via)
                      || CASE WHEN bool_and(i.pseudonymised) THEN ' (hashed: pseudonymised)' ELSE '' END AS note,
                  any_value(i.definition_kind) AS definition_kind
           FROM inherited_pii i
           LEFT JOIN d ON d.location = i.location AND d.dataset_name = i.dataset_name AND d.name = i.table_name
           GROUP BY ALL
           ORDER BY i.location, i.dataset_name, i.table_name, i.column_name, i.pii_kind""",
    )


def pii_filters(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Views and models whose rows are filtered or joined on PII without selecting it."""
    return frame(
        con,
        """SELECT location, dataset_name, table_name, pii_kind, filtered_on, inherited_from, definition_kind
           FROM pii_filters ORDER BY location, dataset_name, table_name, filtered_on""",
    )


def deletion_audit(con: duckdb.DuckDBPyConnection, limit: int = 500) -> pd.DataFrame:
    """The newest executed deletion statements."""
    return frame(
        con,
        """SELECT executed_at, executed_by, column_kind, subject_hash, location, dataset_name, table_name,
                  action, status, rows_deleted, statement, error, plan_id, step
           FROM deletion_audit ORDER BY executed_at DESC, plan_id, step LIMIT ?""",
        [limit],
    )


def subject_history(con: duckdb.DuckDBPyConnection, subject_hash: str) -> pd.DataFrame:
    """Earlier executions for the same subject (matched by its salted hash): one row per plan, `complete`
    only when every statement was deleted or skipped, and how many were not (`not_completed`)."""
    return frame(
        con,
        """SELECT plan_id, min(executed_at) AS executed_at, any_value(executed_by) AS executed_by,
                  sum(rows_deleted) FILTER (WHERE status = 'deleted') AS rows_deleted,
                  bool_and(status IN ('deleted', 'skipped')) AS complete,
                  count(*) FILTER (WHERE status NOT IN ('deleted', 'skipped')) AS not_completed
           FROM deletion_audit WHERE subject_hash = ? GROUP BY plan_id ORDER BY executed_at DESC""",
        [subject_hash],
    )
