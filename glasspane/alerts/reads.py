"""What the alert rules read from the store: the locations a rule's sources cover, the tables pipelines
load, the newest schema versions, people's PII decisions, and the history the backtest replays. The
pipelines' health comes from `glasspane.pipeline_health`, which the pages share."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from glasspane.queries.common import Where, frame, scalar


def scope_locations(con: duckdb.DuckDBPyConnection, sources: tuple[str, ...]) -> list[str]:
    """The locations these sources read: where their runs or schema versions were seen."""
    rows = con.execute(
        """SELECT DISTINCT location FROM runs WHERE list_has_any(seen_by, ?::VARCHAR[])
           UNION SELECT DISTINCT location FROM schema_versions WHERE list_contains(?::VARCHAR[], source)
           ORDER BY 1""",
        [list(sources), list(sources)],
    ).fetchall()
    return [r[0] for r in rows]


def tables_pipelines_load(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str]]:
    """(location, dataset, pipeline, table) for each table a pipeline loads: those its loads reported row
    counts for (`pipeline_tables`), and those of the schemas its runs load, for pipelines whose row
    counts were never seen (no trace collected)."""
    return con.execute(
        """SELECT location, dataset_name, pipeline_name, table_name FROM pipeline_tables
           UNION
           SELECT r.location, r.dataset_name, r.pipeline_name, c.table_name
           FROM raw.pipeline_schemas r
           JOIN (SELECT DISTINCT location, dataset_name, schema_name, table_name FROM columns) c
               USING (location, dataset_name, schema_name)"""
    ).fetchall()


def newest_schema_versions(con: duckdb.DuckDBPyConnection, locations: tuple[str, ...] = ()) -> pd.DataFrame:
    """The newest stored version of each schema, with the pipelines that load it."""
    where = Where().any_of("v.location", locations)
    return frame(
        con,
        f"""WITH newest AS (
                SELECT * FROM schema_versions v {where.sql()}
                QUALIFY row_number() OVER (PARTITION BY location, dataset_name, schema_name
                                           ORDER BY version DESC NULLS LAST, inserted_at DESC NULLS LAST) = 1
            ),
            loaders AS (
                SELECT location, dataset_name, schema_name, list(DISTINCT pipeline_name ORDER BY pipeline_name)
                       AS pipelines
                FROM raw.pipeline_schemas GROUP BY ALL
            )
            SELECT n.location, n.dataset_name, n.schema_name, n.version, n.version_hash, n.inserted_at,
                   coalesce(l.pipelines, []) AS pipelines
            FROM newest n LEFT JOIN loaders l USING (location, dataset_name, schema_name)
            ORDER BY n.location, n.dataset_name, n.schema_name""",
        where.params,
    )


def pii_decisions_in(
    con: duckdb.DuckDBPyConnection, location: str, dataset_name: str
) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(table, column) → (decision, kind) for the PII decisions people made in one dataset."""
    rows = con.execute(
        """SELECT table_name, column_name, decision, pii_kind FROM pii_decisions
           WHERE location = ? AND dataset_name = ?""",
        [location, dataset_name],
    ).fetchall()
    return {(table, column): (decision, kind) for table, column, decision, kind in rows}


def has_version(
    con: duckdb.DuckDBPyConnection, location: str, dataset_name: str, schema_name: str, version_hash: str
) -> bool:
    """True when the store holds this version of a schema."""
    return bool(
        scalar(
            con,
            """SELECT EXISTS (SELECT 1 FROM schema_versions WHERE location = ? AND dataset_name = ?
                              AND schema_name = ? AND version_hash = ?)""",
            [location, dataset_name, schema_name, version_hash],
        )
    )


def run_history(
    con: duckdb.DuckDBPyConnection, pipelines: tuple[str, ...] = (), locations: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Every run in scope (all when a scope is empty), in order per pipeline: what the backtest replays."""
    return con.execute(
        """SELECT location, dataset_name, pipeline_name, status, started_at FROM runs
           WHERE (len(?::VARCHAR[]) = 0 OR list_contains(?::VARCHAR[], pipeline_name))
             AND (len(?::VARCHAR[]) = 0 OR list_contains(?::VARCHAR[], location))
           ORDER BY location, dataset_name, pipeline_name, started_at""",
        [list(pipelines), list(pipelines), list(locations), list(locations)],
    ).df()


def schema_changes_since(
    con: duckdb.DuckDBPyConnection, since: dt.datetime, locations: tuple[str, ...] = ()
) -> list[tuple[str, int]]:
    """(dataset, versions stored since `since` less one) per dataset in scope: the schema changes to replay."""
    return con.execute(
        """SELECT dataset_name, count(*) - 1 AS changes FROM schema_versions
           WHERE inserted_at >= ? AND (len(?::VARCHAR[]) = 0 OR list_contains(?::VARCHAR[], location))
           GROUP BY ALL""",
        [since, list(locations), list(locations)],
    ).fetchall()
