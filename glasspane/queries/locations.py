"""Locations: where data flows — every project, bucket, machine or file, and what runs into it."""

from __future__ import annotations

import duckdb
import pandas as pd

from glasspane.pipeline_health import PIPELINE_KEY, pipeline_health
from glasspane.queries.common import Where, frame


def locations_inventory(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every location with its datasets, pipelines, destinations and last collect; trouble first."""
    return frame(
        con,
        """SELECT location, kind, dataset_count, pipeline_count, failing, late, datasets, destination_types,
                  environments, sources, last_run_at, last_collect_at, collect_status, collect_error
           FROM locations
           ORDER BY collect_status = 'ok', failing + late = 0, location""",
    )


def location_flows(con: duckdb.DuckDBPyConnection, locations: tuple[str, ...] = ()) -> pd.DataFrame:
    """One row per pipeline and dataset it loads: where it runs (`runs_in`: the machine folder whose
    working folder holds it, else the environment dlt detected), its health (the one model), and the
    location of the dataset. `locations` keeps pipelines that run in or load into those locations."""
    where = Where().any_column_of(("f.location", "f.machine"), locations)
    flows = frame(
        con,
        f"""WITH f AS (
                SELECT p.location, p.pipeline_name, p.dataset_name, p.environment, w.location AS machine
                FROM pipelines p
                LEFT JOIN raw.working_folders w USING (pipeline_name, dataset_name)
            )
            SELECT location, pipeline_name, dataset_name, environment,
                   coalesce(machine, environment, 'unknown') AS runs_in, machine IS NOT NULL AS runs_in_machine
            FROM f {where.sql()}
            ORDER BY location, pipeline_name, dataset_name""",
        where.params,
    )
    health = pipeline_health(con)[[*PIPELINE_KEY, "health"]]
    return flows.merge(health, on=PIPELINE_KEY, how="left")
