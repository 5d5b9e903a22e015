"""Benchmark: lineage refresh after a collect, and planning a subject's deletion, on a synthetic warehouse.

    .venv/bin/python -m benchmarks.governance [--tables 50] [--columns 40] [--views 300]

Writes a temporary pane store holding one dlt dataset (`--tables` tables of `--columns` columns, every
table with a tagged e-mail column and a nested child table) and `--views` view definitions over it
(copies, hashes, CTEs with joins, filters, `SELECT *`, and views over views), then prints how long
`refresh_lineage` (the post-collect step) and `plan_for` (a deletion plan) take.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import tempfile
import time
from pathlib import Path

from glasspane.governance.deletion.execute import plan_for
from glasspane.store import Store, summaries
from glasspane.store.lineage import refresh_lineage

LOCATION = "duckdb:///bench/warehouse.duckdb"


def _views(tables: int, columns: int, views: int, rng: random.Random) -> list[tuple[str, str]]:
    shapes = [
        lambda t: f"SELECT id, email, md5(email) AS email_md5, lower(email) AS email_lower, c1, c2 FROM t{t}",
        lambda t: f"SELECT * FROM t{t}",
        lambda t: (
            f"WITH a AS (SELECT id, email, _dlt_id FROM t{t}) SELECT a.id, sha256(a.email) AS h, k.c1 "
            f"FROM a JOIN t{t}__children k ON k._dlt_parent_id = a._dlt_id"
        ),
        lambda t: f"SELECT id, {', '.join(f'c{i}' for i in range(1, columns - 2))} FROM t{t} WHERE email LIKE '%@x'",
    ]
    found = [(f"v{i}", rng.choice(shapes)(rng.randrange(tables))) for i in range(int(views * 0.8))]
    found += [(f"w{i}", f"SELECT email_md5, upper(email_lower) AS e FROM v{i}") for i in range(views - len(found))]
    return found


def build(store: Store, tables: int, columns: int, views: int) -> None:
    """The store's rows for one dataset and its view definitions, as collectors would write them."""
    rng = random.Random(7)
    now = dt.datetime.now(dt.UTC)
    with store.writer() as con:
        con.execute(
            "INSERT INTO raw.schema_versions VALUES ('bench', ?, 'crm', 'crm', 'h1', 1, 11, ?, '{}')", [LOCATION, now]
        )
        rows = []
        for t in range(tables):
            for name in ["id", "email", "_dlt_id", "_dlt_load_id", *(f"c{i}" for i in range(1, columns - 3))]:
                pii = name == "email"
                rows.append(
                    (
                        "bench",
                        LOCATION,
                        "crm",
                        "crm",
                        "h1",
                        f"t{t}",
                        name,
                        "text",
                        True,
                        pii,
                        "email" if pii else None,
                        "{}",
                        None,
                        f"t{t}",
                    )
                )
            for name in ("c1", "_dlt_parent_id", "_dlt_id"):
                rows.append(
                    (
                        "bench",
                        LOCATION,
                        "crm",
                        "crm",
                        "h1",
                        f"t{t}__children",
                        name,
                        "text",
                        True,
                        False,
                        None,
                        "{}",
                        f"t{t}",
                        f"t{t}",
                    )
                )
        con.executemany("INSERT INTO raw.schema_columns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        con.executemany(
            "INSERT INTO raw.definitions VALUES ('bench', ?, 'crm', ?, 'view', 'duckdb', ?, 'duckdb_views()', ?, ?)",
            [[LOCATION, name, sql, now, now] for name, sql in _views(tables, columns, views, rng)],
        )
        summaries.refresh(con)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", type=int, default=50)
    parser.add_argument("--columns", type=int, default=40)
    parser.add_argument("--views", type=int, default=300)
    args = parser.parse_args()
    os.environ.setdefault("GLASSPANE__SUBJECT_SALT", "benchmark")
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "bench.duckdb")
        build(store, args.tables, args.columns, args.views)
        started = time.perf_counter()
        with store.writer() as con:
            refresh_lineage(con)
        refreshed = time.perf_counter() - started
        started = time.perf_counter()
        with store.writer() as con:  # the next collect: nothing changed
            refresh_lineage(con)
        again = time.perf_counter() - started
        with store.reader() as con:
            edges, inherited, failed = con.execute(
                "SELECT (SELECT count(*) FROM column_lineage), (SELECT count(*) FROM inherited_pii), "
                "(SELECT count(*) FROM definitions WHERE lineage_error IS NOT NULL)"
            ).fetchone()
        started = time.perf_counter()
        plan = plan_for(store, "email", "someone@example.com")
        planned = time.perf_counter() - started
    print(f"warehouse: {args.tables} tables x {args.columns} columns (+ a nested child each), {args.views} views")
    print(
        f"refresh_lineage: {refreshed:.2f} s ({args.views / refreshed:.0f} definitions/s), {edges} edges, "
        f"{inherited} inherited PII columns, {failed} definitions not traced"
    )
    print(f"refresh_lineage again, nothing changed: {again:.2f} s (unchanged definitions are reused)")
    print(f"plan_for: {planned:.2f} s, {len(plan.statements)} statements, {len(plan.steps)} steps")


if __name__ == "__main__":
    main()
