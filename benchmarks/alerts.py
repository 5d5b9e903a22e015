"""How long an alert evaluation takes on a large store: `python benchmarks/alerts.py [--pipelines N] [--days D]`.

Builds a synthetic store (N pipelines, two tables each, hourly loads for D days, a few failing,
late and anomalous), then times the evaluations a scheduled `collect --alert` runs: the first
(baselines), one with nothing new, and one after a new load of every pipeline. No Slack
destination is configured, so only evaluating, deciding and storing is measured.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from glasspane.alerts.rule_config import AlertConfig, default_rules
from glasspane.alerts.rules import current_matches
from glasspane.alerts.service import evaluate
from glasspane.store import Store, summaries


def build(store: Store, pipelines: int, days: int) -> int:
    """Hourly loads of `pipelines` pipelines for `days` days; every 50th fails last, every 40th is late."""
    with store.writer() as con:
        con.execute(
            """CREATE TEMP TABLE loads AS
               SELECT p, 'p' || p AS pipeline, now() - INTERVAL (h) HOUR
                      - CASE WHEN p % 40 = 1 THEN INTERVAL 12 HOUR ELSE INTERVAL 0 HOUR END AS ts, h
               FROM range(?) t(p), range(? * 24) s(h)""",
            [pipelines, days],
        )
        con.execute(
            """INSERT INTO raw.runs (run_key, source, location, pipeline_name, dataset_name, schema_name, load_id,
                                     status, started_at, finished_at, is_trace_upload, seen_by)
               SELECT pipeline || '/' || h, 'bench', 'duckdb:///bench.duckdb', pipeline, 'ds_' || pipeline, pipeline,
                      h::VARCHAR, CASE WHEN h = 0 AND p % 50 = 0 THEN 'failed' ELSE 'completed' END, ts, ts, FALSE,
                      ['bench']
               FROM loads"""
        )
        con.execute(
            """INSERT INTO raw.table_counts
               SELECT h::VARCHAR, pipeline, t, 'bench', 'duckdb:///bench.duckdb', 'ds_' || pipeline,
                      CASE WHEN h = 0 AND p % 25 = 0 THEN 0 ELSE 1000 + (hash(p, h, t) % 50)::INT END
               FROM loads, (VALUES ('orders'), ('orders__items')) v(t)
               WHERE NOT (h = 0 AND p % 50 = 0)"""
        )
        summaries.refresh(con)
        return con.execute("SELECT count(*) FROM raw.runs").fetchone()[0]


def add_loads(store: Store) -> None:
    """One new load of every pipeline, now."""
    with store.writer() as con:
        con.execute(
            """INSERT INTO raw.runs (run_key, source, location, pipeline_name, dataset_name, schema_name, load_id,
                                     status, started_at, finished_at, is_trace_upload, seen_by)
               SELECT pipeline_name || '/new', 'bench', location, pipeline_name, dataset_name, pipeline_name, 'new',
                      'completed', now(), now(), FALSE, ['bench']
               FROM raw.pipeline_stats;
               INSERT INTO raw.table_counts
               SELECT 'new', pipeline_name, t, 'bench', location, dataset_name, 1010
               FROM raw.pipeline_stats, (VALUES ('orders'), ('orders__items')) v(t)"""
        )
        summaries.refresh(con)


def timed(label: str, action) -> object:
    started = time.perf_counter()
    result = action()
    print(f"{label:<44} {time.perf_counter() - started:8.2f} s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pipelines", type=int, default=500)
    parser.add_argument("--days", type=int, default=60)
    args = parser.parse_args()
    config = AlertConfig(default_rules())
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "bench.duckdb")
        runs = timed(
            f"build {args.pipelines} pipelines × {args.days} days", lambda: build(store, args.pipelines, args.days)
        )
        print(f"{runs:,} runs, {2 * runs:,} table counts, store {store.path.stat().st_size / 1e6:.0f} MB")
        first = timed("first evaluation (baselines)", lambda: evaluate(store, config, None))
        counts = {rule: sum(a.rule_name == rule for a in first.alerts) for rule in ("failed", "late", "volume")}
        print(f"  {len(first.alerts)} alerts: " + ", ".join(f"{rule} {n}" for rule, n in counts.items()))
        again = timed("evaluation with nothing new", lambda: evaluate(store, config, None))
        print(f"  {len(again.alerts)} alerts")
        timed("collect-like write: one new load per pipeline", lambda: add_loads(store))
        after = timed("evaluation after one new load per pipeline", lambda: evaluate(store, config, None))
        print(f"  {len(after.alerts)} alerts (resolves included)")
        with store.reader() as con:
            timed("Alerts page: what each rule matches now", lambda: current_matches(con, config.rules, ""))


if __name__ == "__main__":
    main()
