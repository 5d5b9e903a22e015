"""Benchmark: the two local source kinds whose datasets are not bucket folders, each with many datasets.

    .venv/bin/python -m benchmarks.sources [--datasets 100] [--loads 10] [--views 3]

1. A DuckDB file of `--datasets` dlt datasets with `--views` views each: the dlt tables of one real
   dlt run copied into each dataset, with `--loads` loads under new load ids.
2. A pipelines folder of `--datasets` working folders: one real pipeline's folder after `--loads`
   runs that load their trace too (so its kept packages carry two schemas), copied with its
   packages under new load ids.

For each, whole processes (wall time, peak memory): a full collect, a no-change collect, and a
collect of one new load in every dataset (a `_dlt_loads` row; a kept package). Both kinds hand over
some of what they hold whole with each new load (a file's views and staging datasets, a folder's
kept packages), so these figures show what a write costs per dataset beyond its new runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import textwrap
import time
from pathlib import Path

from benchmarks.collect import collect, compile_code, run_process, run_process_output

DUCKDB_TABLES = ("_dlt_version", "_dlt_pipeline_state", "users")
FIRST_LOAD = time.time() - 3 * 86400


def _load_id(dataset: int, load: int) -> str:
    """A load id of its own for each dataset and load: runs are keyed by schema name and load id."""
    return f"{FIRST_LOAD + dataset + load * 600:.6f}"


def make_duckdb(folder: Path, datasets: int, loads: int, views: int) -> Path:
    """A DuckDB file of `datasets` copies of one real dlt dataset, `loads` loads and `views` views each."""
    import dlt
    import duckdb

    from tests import dlt_fixtures as fx

    folder.mkdir(parents=True)
    path = folder / "warehouse.duckdb"
    pipeline = fx.pipeline("wh", folder / "pipelines", dlt.destinations.duckdb(str(path)), "tmpl")
    fx.run(pipeline, fx.users(3), load_trace=False)
    with duckdb.connect(str(path)) as con:
        for d in range(datasets):
            schema = f"ds_{d:03d}"
            con.execute(f"CREATE SCHEMA {schema}")
            for table in DUCKDB_TABLES:
                con.execute(f"CREATE TABLE {schema}.{table} AS SELECT * FROM tmpl.{table}")
            con.execute(f"CREATE TABLE {schema}._dlt_loads AS SELECT * FROM tmpl._dlt_loads WHERE false")
            for n in range(loads):
                add_duckdb_load(con, schema, _load_id(d, n))
            for v in range(views):
                con.execute(f"CREATE VIEW {schema}.v_{v} AS SELECT id FROM {schema}.users WHERE id > {v}")
        con.execute("DROP SCHEMA tmpl CASCADE")
    return path


def add_duckdb_load(con, schema: str, load_id: str) -> None:
    """One more completed load in a dataset's `_dlt_loads`, inserted now."""
    con.execute(
        f"""INSERT INTO {schema}._dlt_loads BY NAME
            SELECT '{load_id}' AS load_id, schema_name, 0 AS status, now() AS inserted_at,
                   version_hash AS schema_version_hash
            FROM {schema}._dlt_version ORDER BY inserted_at DESC LIMIT 1"""
    )


def make_working_folders(folder: Path, datasets: int, loads: int) -> Path:
    """A pipelines folder of `datasets` copies of one real pipeline's working folder after `loads` runs."""
    import dlt

    from tests import dlt_fixtures as fx

    folder.mkdir(parents=True)
    pipeline = fx.pipeline("crm", folder / "template", dlt.destinations.duckdb(str(folder / "w.duckdb")), "crm")
    for n in range(loads):
        fx.run(pipeline, fx.users(3, start=3 * n))
    template = folder / "template" / "crm"
    root = folder / "pipelines_dir"
    for d in range(datasets):
        target = root / f"crm_{d:03d}"
        shutil.copytree(template, target)
        state = json.loads((target / "state.json").read_text())
        (target / "state.json").write_text(json.dumps({**state, "pipeline_name": target.name}))
        loaded = target / "load" / "loaded"
        for n, package in enumerate(sorted(loaded.iterdir(), key=lambda p: float(p.name))):
            package.rename(loaded / _load_id(d, n))
    return root


def add_package(working_folder: Path, load_id: str) -> None:
    """One more kept load package: a copy of the folder's newest one that loaded data (not a trace)."""
    loaded = working_folder / "load" / "loaded"
    data = [p for p in loaded.iterdir() if any((p / "completed_jobs").glob("users.*"))]
    shutil.copytree(max(data, key=lambda p: float(p.name)), loaded / load_id)


def _config(folder: Path, name: str, kind: str, key: str, value: Path) -> Path:
    config = folder / f"{name}.toml"
    config.write_text(f'[[sources]]\nname = "{name}"\nkind = "{kind}"\n{key} = "{value}"\n')
    return config


COUNT_RUNS = textwrap.dedent(
    """
    import sys
    from glasspane.store import Store
    with Store(sys.argv[1]).reader() as con:
        print(con.execute("SELECT count(*) FROM runs").fetchall()[0][0])
    """
)


def _measure(label: str, config: Path, store: str, add_one_load: list[str]) -> list[str]:
    """The three collects of one source, as table rows with the runs the store holds after each. Sources
    are built and grown in processes of their own, so that no collect inherits their memory."""
    rows = []
    for what in ("full collect", "no-change collect", "one new load in each dataset"):
        if what.startswith("one new"):
            run_process(add_one_load)
        measured = collect(config, store)
        runs = int(run_process_output(["-c", COUNT_RUNS, store]))
        rows.append(f"| {label}: {what} | {measured.seconds:.2f} s | {measured.peak_mib:,.0f} MiB | {runs:,} |")
    return rows


def step(args: argparse.Namespace) -> None:
    """One step that builds or grows a source, run in a process of its own."""
    folder = Path(args.folder)
    if args.step == "duckdb":
        make_duckdb(folder, args.datasets, args.loads, args.views)
    elif args.step == "duckdb-load":
        import duckdb

        with duckdb.connect(str(folder / "warehouse.duckdb")) as con:
            for d in range(args.datasets):
                add_duckdb_load(con, f"ds_{d:03d}", _load_id(d, args.loads))
    elif args.step == "folders":
        make_working_folders(folder, args.datasets, args.loads)
    else:
        for d, working_folder in enumerate(sorted((folder / "pipelines_dir").iterdir())):
            add_package(working_folder, _load_id(d, 2 * args.loads))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=int, default=100)
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--views", type=int, default=3)
    parser.add_argument("--step", choices=["duckdb", "duckdb-load", "folders", "folders-load"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        return step(args)
    compile_code()
    sizes = ["--datasets", str(args.datasets), "--loads", str(args.loads), "--views", str(args.views)]
    lines = ["| source, whole process | time | peak memory | runs in the store |", "|---|---:|---:|---:|"]
    with tempfile.TemporaryDirectory() as tmp:
        for kind, label in (
            ("duckdb", f"DuckDB file, {args.datasets} datasets × {args.loads} loads, {args.views} views each"),
            ("folders", f"{args.datasets} working folders × {2 * args.loads} kept packages"),
        ):
            folder = Path(tmp) / kind
            run_process(["-m", "benchmarks.sources", "--step", kind, "--folder", str(folder), *sizes])
            config = (
                _config(folder, kind, "duckdb", "path", folder / "warehouse.duckdb")
                if kind == "duckdb"
                else _config(folder, kind, "pipelines_dir", "path", folder / "pipelines_dir")
            )
            grow = ["-m", "benchmarks.sources", "--step", f"{kind}-load", "--folder", str(folder), *sizes]
            lines += _measure(label, config, str(folder / "store.lake"), grow)
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
