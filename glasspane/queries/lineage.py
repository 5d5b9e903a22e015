"""Column lineage reads: which columns have lineage, one column's neighbourhood, definitions that failed."""

from __future__ import annotations

import duckdb
import pandas as pd

from glasspane.queries.common import frame

EDGE_COLUMNS = (
    "dataset_name, table_name, column_name, upstream_dataset, upstream_table, upstream_column, kind, hashed, "
    "expression, definition_kind"
)


def lineage_columns(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every column on either side of a lineage edge (location, dataset_name, table_name, column_name,
    pii_kind), hinted PII with the most downstream columns first: the most telling place to start."""
    return frame(
        con,
        """WITH edges AS MATERIALIZED (  -- read once, used thrice
               SELECT location, dataset_name, table_name, column_name, upstream_dataset, upstream_table,
                      upstream_column
               FROM column_lineage
           ),
           cols AS (
               SELECT location, dataset_name, table_name, column_name FROM edges
               WHERE column_name IS NOT NULL
               UNION
               SELECT location, upstream_dataset, upstream_table, upstream_column FROM edges
           ),
           fanout AS (
               SELECT location, upstream_dataset AS dataset_name, upstream_table AS table_name,
                      upstream_column AS column_name, count(*) AS downstream
               FROM edges GROUP BY ALL
           ),
           hinted AS (
               SELECT DISTINCT location, dataset_name, table_name, column_name, coalesce(pii_kind, 'pii') AS pii_kind
               FROM columns WHERE pii
           ),
           inherited AS (
               SELECT location, dataset_name, table_name, column_name, any_value(coalesce(pii_kind, 'pii')) AS pii_kind
               FROM inherited_pii GROUP BY ALL
           )
           SELECT c.location, c.dataset_name, c.table_name, c.column_name,
                  coalesce(h.pii_kind, i.pii_kind) AS pii_kind
           FROM cols c
           LEFT JOIN hinted h USING (location, dataset_name, table_name, column_name)
           LEFT JOIN inherited i USING (location, dataset_name, table_name, column_name)
           LEFT JOIN fanout f USING (location, dataset_name, table_name, column_name)
           ORDER BY h.pii_kind IS NULL, i.pii_kind IS NULL, coalesce(f.downstream, 0) DESC, c.location,
                    c.dataset_name, c.table_name, c.column_name""",
    )


def neighbourhood(
    con: duckdb.DuckDBPyConnection, location: str, dataset_name: str, table_name: str, column_name: str, hops: int
) -> pd.DataFrame:
    """Lineage edges within `hops` of one column, upstream and downstream, each with its distance
    (`depth`) and its ends as text (`from_column`, `to_column`).

    Upstream includes the filters of the tables on the way (a filter edge has no column); downstream
    stops at a filter: a table filtered on a column does not pass the column on.
    """
    return frame(
        con,
        f"""WITH RECURSIVE
            edges AS MATERIALIZED (  -- read once: each step of a recursion would read the table again
                SELECT {EDGE_COLUMNS} FROM column_lineage WHERE location = $location
            ),
            down AS (
                SELECT {EDGE_COLUMNS}, 1 AS depth FROM edges
                WHERE upstream_dataset = $dataset AND upstream_table = $table AND upstream_column = $column
                UNION
                SELECT {", ".join("l." + c.strip() for c in EDGE_COLUMNS.split(","))}, d.depth + 1
                FROM down d JOIN edges l
                  ON l.upstream_dataset = d.dataset_name
                 AND l.upstream_table = d.table_name AND l.upstream_column = d.column_name
                WHERE d.depth < $hops
            ),
            up AS (
                SELECT {EDGE_COLUMNS}, 1 AS depth FROM edges
                WHERE dataset_name = $dataset AND table_name = $table
                  AND (column_name = $column OR column_name IS NULL)
                UNION
                SELECT {", ".join("l." + c.strip() for c in EDGE_COLUMNS.split(","))}, u.depth + 1
                FROM up u JOIN edges l
                  ON l.dataset_name = u.upstream_dataset
                 AND l.table_name = u.upstream_table
                 AND (l.column_name = u.upstream_column OR l.column_name IS NULL)
                WHERE u.depth < $hops AND u.kind <> 'filter'
            )
            SELECT *, upstream_dataset || '.' || upstream_table || '.' || upstream_column AS from_column,
                   dataset_name || '.' || table_name || coalesce('.' || column_name, ' (its rows)') AS to_column
            FROM (SELECT 'downstream' AS direction, {EDGE_COLUMNS}, min(depth) AS depth FROM down GROUP BY ALL
                  UNION ALL
                  SELECT 'upstream' AS direction, {EDGE_COLUMNS}, min(depth) AS depth FROM up GROUP BY ALL)
            ORDER BY direction, depth, dataset_name, table_name, column_name NULLS FIRST, upstream_table,
                     upstream_column""",
        {"location": location, "dataset": dataset_name, "table": table_name, "column": column_name, "hops": hops},
    )


def pii_marks(con: duckdb.DuckDBPyConnection, location: str) -> pd.DataFrame:
    """PII of the location's columns: hinted (`inherited` false) and inherited, with `pseudonymised`."""
    return frame(
        con,
        """SELECT dataset_name, table_name, column_name, coalesce(pii_kind, 'pii') AS pii_kind,
                  FALSE AS inherited, FALSE AS pseudonymised
           FROM columns WHERE pii AND location = $location
           UNION ALL
           SELECT dataset_name, table_name, column_name, coalesce(pii_kind, 'pii'), TRUE, bool_and(pseudonymised)
           FROM inherited_pii WHERE location = $location GROUP BY ALL""",
        {"location": location},
    )


def table_kinds(con: duckdb.DuckDBPyConnection, location: str) -> dict[tuple[str, str], str]:
    """(dataset, table) -> 'view' | 'model' for the location's definitions (other tables are dlt tables)."""
    rows = con.execute(
        "SELECT DISTINCT dataset_name, name, kind FROM definitions WHERE location = ?", [location]
    ).fetchall()
    return {(d, n): k for d, n, k in rows}


def definition_problems(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Definitions whose lineage could not be computed, and why."""
    return frame(
        con,
        """SELECT source, location, dataset_name, name, kind, origin, lineage_error FROM definitions
           WHERE lineage_error IS NOT NULL ORDER BY location, dataset_name, name""",
    )


def definitions_summary(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """How many definitions, traced edges, inherited PII columns and PII filters the store holds."""
    row = con.execute(
        """SELECT (SELECT count(*) FROM definitions), (SELECT count(*) FROM column_lineage),
                  (SELECT count(*) FROM (SELECT DISTINCT location, dataset_name, table_name, column_name
                                         FROM inherited_pii)),
                  (SELECT count(*) FROM pii_filters)"""
    ).fetchone()
    return dict(zip(("definitions", "edges", "inherited", "filters"), row or (0, 0, 0, 0), strict=True))
