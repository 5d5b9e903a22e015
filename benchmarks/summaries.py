"""Benchmark: what a write's summaries cost as the store grows, for pipelines with a long history.

    .venv/bin/python -m benchmarks.summaries [--sizes 1000 300000 1000000] [--pipelines 10] [--cache DIR]

For synthetic stores (`benchmarks.synthetic_store`, reused from `--cache` as `benchmarks.pages` does) of
each size: a write that adds one new run, with its row counts, to each of `--pipelines` pipelines the
store holds history for, as an hourly collect of their sources does; timed inside the write, then rolled
back (median of 5). Prints the time of merging the runs, of the pipelines' summaries (figures, tables,
schemas), and of the volume rule's newest-load summary, which judges each touched table's newest load
against the rule's window of history, however large the store.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.pages import render, store_for
from glasspane.store import Store, ingest, pipeline_summaries
from glasspane.store.lake import parse_location
from glasspane.store.newest_loads import refresh_newest_loads

REPEAT = 5
HEADERS = ["store", "runs", "pipelines touched", "merge", "pipeline summaries", "newest loads judged", "tables"]


class _RolledBack(Exception):
    """Ends a timed write without committing it."""


def time_write(store: Store, pipelines: int) -> tuple[float, float, float, int]:
    """Seconds to merge one new run into each of `pipelines` pipelines, to refresh their summaries and
    to judge their tables' newest loads; and the tables judged."""
    timings: dict[str, float] = {}
    try:
        with store.writer() as con:
            con.execute(
                f"""CREATE TEMP TABLE picked AS SELECT * FROM raw.runs
                WHERE run_key IN (SELECT last_run_key FROM raw.pipeline_stats ORDER BY ALL LIMIT {pipelines});
                CREATE TEMP TABLE new_observations AS
                SELECT o.* REPLACE (o.run_key || '-next' AS run_key, (o.load_id::DOUBLE + 3600)::VARCHAR AS load_id,
                                    o.started_at + INTERVAL 1 HOUR AS started_at,
                                    o.finished_at + INTERVAL 1 HOUR AS finished_at)
                FROM raw.run_observations o SEMI JOIN picked USING (run_key);
                CREATE TEMP TABLE new_counts AS
                SELECT c.* REPLACE ((c.load_id::DOUBLE + 3600)::VARCHAR AS load_id)
                FROM raw.table_count_observations c SEMI JOIN picked p ON c.load_id = p.load_id
                                                                     AND c.schema_name = p.schema_name;
                INSERT INTO raw.run_observations BY NAME SELECT * FROM new_observations;
                INSERT INTO raw.table_count_observations BY NAME SELECT * FROM new_counts;
                CREATE OR REPLACE TEMP TABLE touched_pipelines (location TEXT, dataset_name TEXT, pipeline_name TEXT);
                CREATE OR REPLACE TEMP TABLE alias_changes (alias TEXT, location TEXT);"""
            )
            runs = set(con.execute("SELECT run_key, load_id FROM new_observations").fetchall())
            loads = set(con.execute("SELECT schema_name, load_id FROM new_counts").fetchall())
            tables = con.execute("SELECT count(DISTINCT table_name || load_id) FROM new_counts").fetchone()[0]
            started = time.perf_counter()
            ingest._merge_runs(con, runs, loads)
            timings["merge"] = time.perf_counter() - started
            started = time.perf_counter()
            pipeline_summaries.refresh_touched(con)
            timings["pipelines"] = time.perf_counter() - started
            started = time.perf_counter()
            refresh_newest_loads(con, touched=True)
            timings["newest"] = time.perf_counter() - started
            raise _RolledBack  # the writer rolls the write back
    except _RolledBack:
        pass
    return timings["merge"], timings["pipelines"], timings["newest"], tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 300_000, 1_000_000])
    parser.add_argument("--pipelines", type=int, default=10)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "glasspane-bench")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    lines = []
    for runs in args.sizes:
        path, described = store_for(runs, args.cache, False, None)
        print(f"{runs:,} runs: {described}", flush=True)
        store = Store(parse_location(path))
        store.ensure_current()
        with store.reader() as con:
            stored = con.execute("SELECT count(*) FROM runs").fetchone()[0]
        measured = [time_write(store, args.pipelines) for _ in range(REPEAT)]
        merge, pipelines, newest = (statistics.median(m[i] for m in measured) for i in range(3))
        lines.append(
            [
                f"{runs:,}",
                f"{stored:,}",
                str(args.pipelines),
                f"{merge * 1000:.0f} ms",
                f"{pipelines * 1000:.0f} ms",
                f"{newest * 1000:.0f} ms",
                str(measured[0][3]),
            ]
        )
    print(render(HEADERS, lines, args.markdown))


if __name__ == "__main__":
    main()
