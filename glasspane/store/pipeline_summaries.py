"""Each pipeline's summaries: its figures and newest run (`raw.pipeline_stats`), the tables it loads
(`raw.pipeline_tables`) and the schemas its runs load (`raw.pipeline_schemas`).

Every figure is an aggregate that parts combine into: counts add up, and a pipeline's newest run,
last success and newest completed loads are the newest of its parts'. So a write that only adds runs
to a pipeline (new loads, the usual collect) grows its rows from the rows stored and the new runs,
without reading its older runs or the row counts of every table in the store; a pipeline whose stored
runs a write merged again, moved or resolved to another location is rebuilt from all its runs.
"""

from __future__ import annotations

import duckdb

from glasspane.pipeline_health import PIPELINE_KEY
from glasspane.store.upsert import load_floor

RECENT_LOADS = 30  # row counts kept per pipeline for sparklines
CADENCE_LOADS = 20  # completed loads whose gaps teach a pipeline's cadence
KEPT_LOADS = max(RECENT_LOADS, CADENCE_LOADS + 1)  # newest completed loads kept per pipeline
TABLES = ("raw.pipeline_stats", "raw.pipeline_tables", "raw.pipeline_schemas")
_KEYS = ", ".join(PIPELINE_KEY)
_NAMED = "pipeline_name IS NOT NULL AND dataset_name IS NOT NULL"
_RUN_COLUMNS = """run_key, source, status, row_count, error, failed_step, started_at, finished_at, load_id,
    schema_name, environment, destination_type"""  # what the summaries read of a run, besides its pipeline

_NEWEST_RUN = """{'source': source, 'status': status, 'row_count': row_count, 'error': error,
    'failed_step': failed_step, 'run_key': run_key, 'started_at': started_at, 'load_id': load_id,
    'environment': environment, 'destination_type': destination_type}"""
_STORED_NEWEST_RUN = """{'source': source, 'status': last_status, 'row_count': last_row_count, 'error': last_error,
    'failed_step': last_failed_step, 'run_key': last_run_key, 'started_at': last_started_at, 'load_id': last_load_id,
    'environment': environment, 'destination_type': destination_type}"""


def rebuild(con: duckdb.DuckDBPyConnection, pipelines: str = "") -> None:
    """Insert the rows of every pipeline (`pipelines` empty), or of those in the temp table `pipelines`,
    from all their runs.

    The runs of the pipelines in `pipelines` are read once, the columns the summaries use, into a temp
    table, and their row counts by their schemas: read twice through the join, 10 pipelines' summaries
    took 42 ms at 1k runs and 0.33 s at 1M, now 26 ms and 0.27 s (scanning every pipeline's row
    counts, for want of an index, is most of what is left)."""
    runs = f"(SELECT * FROM runs WHERE {_NAMED})"
    counts = ""
    if pipelines:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE rebuilt_runs AS
            SELECT {_KEYS}, {_RUN_COLUMNS} FROM runs SEMI JOIN {pipelines} USING ({_KEYS}) WHERE {_NAMED}"""
        )
        runs, counts = "rebuilt_runs", " AND t.schema_name IN (SELECT schema_name FROM rebuilt_runs)"
    con.execute(f"INSERT INTO raw.pipeline_stats BY NAME {_figures(_run_parts(runs))}")
    con.execute(f"INSERT INTO raw.pipeline_tables BY NAME {_table_parts(runs, counts)}")
    con.execute(
        f"""INSERT INTO raw.pipeline_schemas BY NAME
        SELECT DISTINCT location, dataset_name, pipeline_name, schema_name FROM {runs} WHERE schema_name IS NOT NULL"""
    )


def refresh_touched(con: duckdb.DuckDBPyConnection) -> None:
    """Refresh the rows of the pipelines in the temp table `touched_pipelines` after a merge of runs (temp
    tables `merged`, the runs as merged, and `new_runs`, the keys of those new to the store): a pipeline
    that only gained runs grows, the others are rebuilt."""
    # a resolved alias moved stored runs to another location: every pipeline touched is rebuilt
    grows = "false" if con.execute("SELECT count(*) FROM alias_changes").fetchone()[0] else "true"
    grown, rebuilt = con.execute(
        f"""CREATE OR REPLACE TEMP TABLE grown_pipelines AS
        SELECT {_KEYS} FROM merged SEMI JOIN new_runs USING (run_key)
        WHERE {grows} AND NOT is_trace_upload AND {_NAMED}
        EXCEPT SELECT {_KEYS} FROM merged ANTI JOIN new_runs USING (run_key);
        CREATE OR REPLACE TEMP TABLE rebuilt_pipelines AS
        SELECT * FROM touched_pipelines EXCEPT SELECT * FROM grown_pipelines;
        SELECT (SELECT count(*) FROM grown_pipelines), (SELECT count(*) FROM rebuilt_pipelines)"""
    ).fetchone()
    if grown:
        _grow(con)  # from the stored rows: before they are deleted
    for table in TABLES:
        con.execute(f"DELETE FROM {table} t USING touched_pipelines p WHERE {_same_pipeline('t', 'p')}")
        if grown:
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM grown_{table.removeprefix('raw.')}")
    if rebuilt:
        rebuild(con, "rebuilt_pipelines")


def _grow(con: duckdb.DuckDBPyConnection) -> None:
    """The rows of the pipelines in `grown_pipelines`, from their stored rows and their new runs, into the
    temp tables `grown_pipeline_stats`, `grown_pipeline_tables` and `grown_pipeline_schemas`."""
    stored = f"SEMI JOIN grown_pipelines USING ({_KEYS})"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE grown_runs AS
        SELECT * FROM merged SEMI JOIN new_runs USING (run_key) {stored} WHERE NOT is_trace_upload"""
    )
    parts = f"""SELECT {_KEYS},
            arg_max(newest, (coalesce(last_run_at, '-infinity'::TIMESTAMPTZ), newest.run_key)) AS newest,
            max(last_run_at) AS last_run_at, max(last_success_at) AS last_success_at,
            sum(runs) AS runs, sum(failed_runs) AS failed_runs,
            list_sort(flatten(list(completed) FILTER (WHERE completed IS NOT NULL)), 'DESC')[:{KEPT_LOADS}]
                AS completed
        FROM ({_run_parts("grown_runs")}
              UNION ALL
              SELECT {_KEYS}, {_STORED_NEWEST_RUN} AS newest, last_run_at, last_success_at, runs, failed_runs,
                     recent_completed AS completed
              FROM raw.pipeline_stats {stored})
        GROUP BY ALL"""
    con.execute(f"CREATE OR REPLACE TEMP TABLE grown_pipeline_stats AS {_figures(parts)}")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE grown_pipeline_tables AS
        SELECT {_KEYS}, table_name, sum(loads) AS loads, max(last_loaded_at) AS last_loaded_at,
               arg_max(last_row_count, last_loaded_at) AS last_row_count
        FROM ({_table_parts("grown_runs", load_floor(con, "grown_runs"))}
              UNION ALL
              SELECT {_KEYS}, table_name, loads, last_loaded_at, last_row_count FROM raw.pipeline_tables {stored})
        GROUP BY ALL;
        CREATE OR REPLACE TEMP TABLE grown_pipeline_schemas AS
        SELECT {_KEYS}, schema_name FROM grown_runs WHERE schema_name IS NOT NULL
        UNION SELECT {_KEYS}, schema_name FROM raw.pipeline_schemas {stored}"""
    )


def _run_parts(runs: str) -> str:
    """Per pipeline, what its figures are made of, from the relation `runs` (rows of `raw.runs`): its newest
    run (newest first, runs without a time last), last run and success, runs, failed runs, and its newest
    completed loads (newest first)."""
    return f"""SELECT {_KEYS},
               arg_max({_NEWEST_RUN}, (coalesce(ts, '-infinity'::TIMESTAMPTZ), run_key)) AS newest,
               max(ts) AS last_run_at,
               max(ts) FILTER (WHERE status = 'completed') AS last_success_at,
               count(*) AS runs,
               count(*) FILTER (WHERE status = 'failed') AS failed_runs,
               arg_max({{'ts': ts, 'row_count': row_count}}, ts, {KEPT_LOADS})
                   FILTER (WHERE status = 'completed' AND ts IS NOT NULL) AS completed
        FROM (SELECT *, coalesce(finished_at, started_at) AS ts FROM {runs})
        GROUP BY ALL"""


def _figures(parts: str) -> str:
    """The `raw.pipeline_stats` rows of the pipelines' parts (one row per pipeline, as `_run_parts` gives)."""
    return f"""WITH parts AS ({parts}),
        gaps AS (  -- after_day: the weekday of the load the gap follows; newest_day: of the newest load
            SELECT {_KEYS}, epoch(completed[i].ts) - epoch(completed[i + 1].ts) AS gap,
                   dayofweek(completed[i + 1].ts) AS after_day, dayofweek(completed[1].ts) AS newest_day
            FROM (SELECT {_KEYS}, completed, unnest(range(1, least(len(completed), {CADENCE_LOADS + 1}))) AS i
                  FROM parts)
        ),
        cadence AS (  -- the gap to expect after the newest load: weekends skipped are learned
            SELECT {_KEYS},
                   greatest(median(gap), CASE WHEN count(*) FILTER (WHERE after_day = newest_day) >= 2
                                              THEN median(gap) FILTER (WHERE after_day = newest_day) END) AS cadence_s
            FROM gaps WHERE gap > 0 GROUP BY ALL
        )
        SELECT {_KEYS}, newest.source, newest.status AS last_status, last_run_at, last_success_at,
               newest.row_count AS last_row_count, newest.error AS last_error,
               newest.failed_step AS last_failed_step, newest.run_key AS last_run_key,
               newest.started_at AS last_started_at, newest.load_id AS last_load_id,
               newest.environment, newest.destination_type, runs, failed_runs, cadence_s,
               list_reverse([c.row_count FOR c IN completed[:{RECENT_LOADS}]]) AS recent_row_counts,
               completed AS recent_completed
        FROM parts LEFT JOIN cadence USING ({_KEYS})"""


def _table_parts(runs: str, narrow: str = "") -> str:
    """Per pipeline and table: loads, newest load and its row count, from the relation `runs` (`narrow`: a
    condition on `t` that the row counts of those runs meet, a `load_floor` or their schemas, so that the
    scan skips or drops the others before the join)."""
    return f"""SELECT r.location, r.dataset_name, r.pipeline_name, t.table_name, count(*) AS loads,
               max(r.started_at) AS last_loaded_at, arg_max(t.row_count, r.started_at) AS last_row_count
        FROM table_counts t JOIN {runs} r ON r.schema_name = t.schema_name AND r.load_id = t.load_id {narrow}
        GROUP BY ALL"""


def _same_pipeline(a: str, b: str) -> str:
    return " AND ".join(f"{a}.{k} = {b}.{k}" for k in PIPELINE_KEY)
