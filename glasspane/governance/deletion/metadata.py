"""What the store knows that a deletion plan for one PII kind needs (`DeletionTargets`): the matching columns,
the tables of their datasets, derived columns, lineage edges, staging datasets, kept load packages and
look-alike columns. Metadata only: no subject's value is involved."""

from __future__ import annotations

import duckdb
import pandas as pd

from glasspane.governance.deletion.model import (
    DeletionTargets,
    DerivedColumn,
    KeptPackage,
    Lookalike,
    MatchColumn,
    StagingDataset,
    TableEdge,
    TableMeta,
)
from glasspane.queries.common import frame

# The (location, dataset) pairs a deletion plan touches, bound as two parallel lists.
_WANTED = "SELECT unnest(?::VARCHAR[]) AS location, unnest(?::VARCHAR[]) AS dataset_name"


def deletion_targets(con: duckdb.DuckDBPyConnection, column_kind: str) -> DeletionTargets:
    """What the store knows that a deletion plan for one PII kind needs (no subject value involved)."""
    targets = DeletionTargets(column_kind=column_kind)
    targets.matches = _matches(con, column_kind)
    datasets = sorted({(m.location, m.dataset_name) for m in targets.matches})
    if datasets:
        wanted = [[loc for loc, _ in datasets], [ds for _, ds in datasets]]
        targets.tables = _tables(con, wanted)
        targets.staging = _staging(con, wanted)
        targets.packages = _packages(con, wanted)
    targets.destination_types = dict(
        con.execute(
            """SELECT location, any_value(destination_type) FROM datasets
               WHERE destination_type IS NOT NULL GROUP BY location"""
        ).fetchall()
    )
    targets.derived = _derived(con, column_kind)
    edges = con.execute(
        """SELECT DISTINCT location, upstream_dataset, upstream_table, dataset_name, table_name, definition_kind
           FROM column_lineage"""
    ).fetchall()
    targets.edges = [TableEdge(*e) for e in edges]
    targets.lookalikes = _lookalikes(con, column_kind)
    return targets


def _matches(con: duckdb.DuckDBPyConnection, column_kind: str) -> list[MatchColumn]:
    """The hinted columns of the kind, and whether each is unique."""
    matches = frame(
        con,
        """SELECT DISTINCT location, dataset_name, table_name, column_name, data_type,
                  coalesce(try_cast(json_extract(hints, '$.unique') AS BOOLEAN), FALSE)
                  OR coalesce(try_cast(json_extract(hints, '$.primary_key') AS BOOLEAN), FALSE) AS is_unique
           FROM columns WHERE pii AND lower(pii_kind) = lower(?)
           ORDER BY location, dataset_name, table_name, column_name""",
        [column_kind],
    )
    return [
        MatchColumn(r.location, r.dataset_name, r.table_name, r.column_name, r.data_type, bool(r.is_unique))
        for r in matches.itertuples()
    ]


def _tables(con: duckdb.DuckDBPyConnection, wanted: list[list[str]]) -> dict[tuple[str, str], dict[str, TableMeta]]:
    """Every table of the wanted datasets: its parent, columns, loaded rows and write disposition."""
    tables = frame(
        con,
        f"""WITH wanted AS ({_WANTED}),
           loaded AS (
               SELECT location, dataset_name, table_name, sum(row_count) AS loaded_rows
               FROM table_counts GROUP BY ALL
           ),
           latest AS (
               SELECT v.resolved_location AS location, v.dataset_name, v.schema
               FROM raw.schema_versions_resolved v
               JOIN wanted w ON w.location = v.resolved_location AND w.dataset_name = v.dataset_name
               QUALIFY row_number() OVER (
                   PARTITION BY v.resolved_location, v.dataset_name, v.schema_name
                   ORDER BY v.version DESC NULLS LAST, v.from_working_folder, v.inserted_at DESC NULLS LAST
               ) = 1
           ),
           dispositions AS (
               SELECT location, dataset_name, t AS table_name,
                      any_value(schema -> 'tables' -> t ->> 'write_disposition') AS write_disposition
               FROM latest, unnest(json_keys(schema, '$.tables')) AS u(t) GROUP BY ALL
           )
           SELECT c.location, c.dataset_name, c.table_name, any_value(c.parent_table) AS parent_table,
                  list(DISTINCT c.column_name) AS columns, any_value(l.loaded_rows) AS loaded_rows,
                  any_value(w.write_disposition) AS write_disposition
           FROM columns c JOIN wanted USING (location, dataset_name)
           LEFT JOIN loaded l USING (location, dataset_name, table_name)
           LEFT JOIN dispositions w USING (location, dataset_name, table_name)
           GROUP BY ALL""",
        wanted,
    )
    found: dict[tuple[str, str], dict[str, TableMeta]] = {}
    for r in tables.itertuples():
        rows = None if pd.isna(r.loaded_rows) else int(r.loaded_rows)
        parent = None if pd.isna(r.parent_table) else r.parent_table
        disposition = None if pd.isna(r.write_disposition) else r.write_disposition
        found.setdefault((r.location, r.dataset_name), {})[r.table_name] = TableMeta(
            r.table_name, parent, frozenset(r.columns), rows, disposition
        )
    return found


def _derived(con: duckdb.DuckDBPyConnection, column_kind: str) -> list[DerivedColumn]:
    """The columns of views and models that inherit the kind, with the dialect of their definition."""
    derived = frame(
        con,
        """SELECT i.location, i.dataset_name, i.table_name, i.column_name, i.definition_kind, i.inherited_from,
                  i.value_expression, coalesce(any_value(d.dialect), 'duckdb') AS dialect
           FROM inherited_pii i
           LEFT JOIN definitions d ON d.location = i.location AND d.dataset_name = i.dataset_name
                                  AND d.name = i.table_name
           WHERE lower(i.pii_kind) = lower(?)
           GROUP BY ALL ORDER BY ALL""",
        [column_kind],
    )
    return [
        DerivedColumn(
            r.location,
            r.dataset_name,
            r.table_name,
            r.column_name,
            r.definition_kind,
            r.inherited_from,
            None if pd.isna(r.value_expression) else r.value_expression,
            r.dialect,
        )
        for r in derived.itertuples()
    ]


def _staging(con: duckdb.DuckDBPyConnection, wanted: list[list[str]]) -> dict[tuple[str, str], StagingDataset]:
    """The staging datasets collectors listed for the wanted datasets (the newest listing of each)."""
    rows = con.execute(
        f"""SELECT s.location, s.dataset_name, arg_max(s.staging_dataset, s.collected_at),
                   arg_max(s.tables, s.collected_at)
            FROM raw.staging_datasets s JOIN ({_WANTED}) w USING (location, dataset_name) GROUP BY ALL""",
        wanted,
    ).fetchall()
    return {(loc, ds): StagingDataset(name, frozenset(tables)) for loc, ds, name, tables in rows}


def _packages(con: duckdb.DuckDBPyConnection, wanted: list[list[str]]) -> list[KeptPackage]:
    """The load packages kept in collected working folders of pipelines that load the wanted datasets."""
    rows = con.execute(
        f"""WITH packages AS (
                SELECT p.*, coalesce(a.location, p.location) AS resolved, d.location AS machine
                FROM raw.load_packages p JOIN raw.datasets d USING (source, dataset_key)
                LEFT JOIN raw.location_aliases a ON a.alias = p.location
            )
            SELECT p.resolved, p.pipeline_name, p.dataset_name, p.load_id, p.state, p.path, p.machine, p.tables,
                   p.collected_at
            FROM packages p JOIN ({_WANTED}) w ON w.location = p.resolved AND w.dataset_name = p.dataset_name
            ORDER BY p.machine, p.pipeline_name, p.state, try_cast(p.load_id AS DOUBLE), p.load_id""",
        wanted,
    ).fetchall()
    return [KeptPackage(*r[:7], tuple(r[7]), r[8]) for r in rows]


def _lookalikes(con: duckdb.DuckDBPyConnection, column_kind: str) -> list[Lookalike]:
    """Columns without a PII hint or a person's decision whose names look like the kind: the plan does not
    cover them (a confirmed column is covered; one decided "not PII" is not suspected)."""
    rows = con.execute(
        """SELECT DISTINCT c.location, c.dataset_name, c.table_name, c.column_name, s.reason
           FROM columns c JOIN raw.suspected_names s USING (table_name, column_name)
           WHERE NOT c.pii AND NOT c.not_pii AND lower(s.suspected_kind) = lower(?) ORDER BY ALL""",
        [column_kind],
    ).fetchall()
    return [
        Lookalike(
            location,
            dataset,
            table,
            column,
            f"{reason}, but it has no PII hint: tag it with x-annotation-pii to include it",
        )
        for location, dataset, table, column, reason in rows
    ]
