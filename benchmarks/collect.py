"""Benchmark: the store's write path. Each figure is printed beside its goal.

    .venv/bin/python -m benchmarks.collect [--datasets 200] [--loads 50] [--many-loads 500]
                                           [--sizes 1000 300000 1000000] [--skip-sizes]

1. A local filesystem tree of `--datasets` dlt datasets × `--loads` loads: the metadata of one real
   dlt run (`_dlt_loads`, `_dlt_version`, `_dlt_pipeline_state` and data files) copied under new
   load ids. Timed as whole processes (wall time, peak memory): Glasspane's full collect, a
   no-change collect, a collect of one new load in every dataset; reading each dataset's
   `_dlt_loads` with `dlt.dataset(...)`; one DuckDB `read_json` glob over the same files; and the
   least any collect does (start Python, import DuckDB, open the store, read one table; for a collect
   that writes, import pandas too), against which the no-change and one-new goals can be judged.
2. The same tree with `--many-loads` loads per dataset: a collect's peak memory should not grow.
3. Synthetic stores (`benchmarks.synthetic_store`) of `--sizes` runs: collecting one new load into
   each, and one PII decision on the largest.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

PROJECT = Path(__file__).resolve().parent.parent
SCHEMA = "tmpl"
REPEAT = 3  # collects of one new load into each synthetic store


@dataclass
class Measured:
    """A whole process: wall time and peak resident memory."""

    seconds: float
    peak_mib: float


def run_process(code_or_args: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run a Python process to its end; its wall time and peak RSS (from the kernel's rusage)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, *code_or_args],
        cwd=PROJECT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = process.stdout.read() if process.stdout else b""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{code_or_args[:3]} failed:\n{output.decode(errors='replace')[-2000:]}")
    return Measured(seconds, usage.ru_maxrss / 1024)


def compile_code() -> None:
    """Byte-compile Glasspane's modules before timing whole processes, as pip does for an installed package
    and Python does at the first import wherever it may write bytecode. A machine with
    `PYTHONDONTWRITEBYTECODE` set (this one) would otherwise compile them from source in every collect
    timed, while `dlt.dataset`'s installed modules load compiled."""
    import compileall

    for package in ("glasspane", "collectors"):
        compileall.compile_dir(PROJECT / package, quiet=1)


def make_template(folder: Path) -> Path:
    """One real dlt run into a filesystem destination: the dataset folder every copy starts from."""
    import dlt

    from tests import dlt_fixtures as fx

    bucket = folder / "template"
    pipeline = fx.pipeline(SCHEMA, folder / "pipelines", dlt.destinations.filesystem(bucket.as_uri()), SCHEMA)
    fx.run(pipeline, fx.users(3), load_trace=False)
    return bucket / SCHEMA


def _template_load(template: Path) -> tuple[str, dict, list[tuple[Path, str]]]:
    [loads_file] = (template / "_dlt_loads").iterdir()
    row = json.loads(loads_file.read_text().splitlines()[0])
    load_id = row["load_id"]
    data = [(p, p.name.split(load_id, 1)[1]) for p in template.rglob(f"{load_id}.*") if "_dlt" not in str(p)]
    return load_id, row, data


def grow(template: Path, root: Path, datasets: int, loads: int, first: int) -> None:
    """Add loads `first`..`first + loads - 1` to each of `datasets` datasets under `root` (creating them)."""
    template_id, row, data = _template_load(template)
    base = time.time() - 3 * 86400
    for d in range(datasets):
        folder = root / f"project_{d:03d}"
        if not folder.exists():
            # dlt's version and state files; the template's own load and data files are not copied
            shutil.copytree(template, folder, ignore=shutil.ignore_patterns(f"{template_id}*", f"*{template_id}.jsonl"))
        for n in range(first, first + loads):
            load_id = f"{base + d * 1.0 + n * 600:.6f}"
            (folder / "_dlt_loads" / f"{SCHEMA}__{load_id}.jsonl").write_text(json.dumps({**row, "load_id": load_id}))
            for path, rest in data:
                target = folder / path.parent.relative_to(template) / f"{load_id}{rest}"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)


def write_config(folder: Path, root: Path) -> Path:
    config = folder / f"{root.name}.toml"
    config.write_text(f'[[sources]]\nname = "tree"\nkind = "filesystem"\nbucket_url = "{root.as_uri()}"\n')
    return config


def collect(config: Path, store: str) -> Measured:
    return run_process(["-m", "collectors", "collect", "--config", str(config), "--store", store, "--quiet"])


DLT_DATASET_LOOP = textwrap.dedent(
    """
    import os, sys
    os.environ["RUNTIME__LOG_LEVEL"] = "ERROR"
    import dlt
    root = sys.argv[1]
    rows = 0
    for name in sorted(os.listdir(root)):
        ds = dlt.dataset(dlt.destinations.filesystem("file://" + root), name)
        rows += len(ds["_dlt_loads"].df())
    print(rows)
    """
)

READ_JSON_GLOB = textwrap.dedent(
    """
    import sys, duckdb
    print(duckdb.sql(f"SELECT count(*) FROM read_json('{sys.argv[1]}/*/_dlt_loads/*.jsonl')").fetchone()[0])
    """
)


# What any collect does at the least, on this machine: start Python, import DuckDB, open the store as Glasspane
# does (its extensions, the catalog) and read one table; a collect that writes also imports pandas, which
# DuckDB's Python client imports to bind any parameter or read any Python object.
STORE_FLOOR = textwrap.dedent(
    """
    import sys
    from glasspane.store.lake import attach, parse_location
    con = attach(parse_location(sys.argv[1]), read_only=True)
    con.execute("SELECT count(*) FROM raw.datasets").fetchone()
    if sys.argv[2] == "write":
        import pandas
    """
)


def verdict(met: bool | None) -> str:
    """'met', 'MISSED', or nothing for a figure without a goal."""
    return "" if met is None else ("met" if met else "MISSED")


def row(name: str, value: str, goal: str, met: bool | None) -> str:
    """A table row: the measure, its figure, its goal and whether it was met."""
    return f"| {name} | {value} | {goal} | {verdict(met)} |"


def bench_tree(folder: Path, template: Path, datasets: int, loads: int) -> list[str]:
    root = folder / f"tree_{datasets}x{loads}"
    grow(template, root, datasets, loads, 0)
    config = write_config(folder, root)
    store = str(folder / f"tree_{datasets}x{loads}.lake")
    naive = run_process(["-c", DLT_DATASET_LOOP, str(root)])
    glob = run_process(["-c", READ_JSON_GLOB, str(root)])
    full = collect(config, store)
    unchanged = collect(config, store)
    grow(template, root, datasets, 1, loads)
    one_new = collect(config, store)
    floor = {kind: run_process(["-c", STORE_FLOOR, store, kind]) for kind in ("read", "write")}
    loads_n = datasets * loads
    return [
        f"**{datasets} datasets × {loads} loads ({loads_n:,} `_dlt_loads` files)**, whole processes:",
        "",
        "| measure | figure | goal | |",
        "|---|---:|---|---|",
        row("`dlt.dataset(...)` per dataset", f"{naive.seconds:.2f} s, {naive.peak_mib:,.0f} MiB", "", None),
        row("one DuckDB `read_json` glob", f"{glob.seconds:.2f} s, {glob.peak_mib:,.0f} MiB", "", None),
        row("Glasspane full collect", f"{full.seconds:.2f} s, {full.peak_mib:,.0f} MiB", "", None),
        row(
            "full collect vs `dlt.dataset`",
            f"{naive.seconds / full.seconds:.1f}× faster",
            "≥ 20× faster",
            naive.seconds / full.seconds >= 20,
        ),
        row(
            "full collect vs `read_json` glob",
            f"{full.seconds / glob.seconds:.1f}× its time",
            "≤ 3×",
            full.seconds / glob.seconds <= 3,
        ),
        row(
            "peak memory vs `dlt.dataset`",
            f"{full.peak_mib / naive.peak_mib:.2f}×",
            "≤ 0.33×",
            full.peak_mib / naive.peak_mib <= 1 / 3,
        ),
        row(
            "no-change collect",
            f"{unchanged.seconds:.2f} s = {unchanged.seconds / full.seconds:.0%} of full",
            "≤ 5 %",
            unchanged.seconds / full.seconds <= 0.05,
        ),
        row(
            "one new load in each dataset",
            f"{one_new.seconds:.2f} s = {one_new.seconds / full.seconds:.0%} of full",
            "≤ 10 %",
            one_new.seconds / full.seconds <= 0.10,
        ),
        row(
            "the least any collect does: start Python, import DuckDB, open the store, read one table",
            f"{floor['read'].seconds:.2f} s = {floor['read'].seconds / full.seconds:.0%} of full",
            "",
            None,
        ),
        row(
            "the least a collect that writes does: the same, and import pandas",
            f"{floor['write'].seconds:.2f} s = {floor['write'].seconds / full.seconds:.0%} of full",
            "",
            None,
        ),
        "",
    ]


def bench_memory(folder: Path, template: Path, datasets: int, few: int, many: int) -> list[str]:
    peaks = {}
    for loads in (few, many):
        root = folder / f"mem_{datasets}x{loads}"
        grow(template, root, datasets, loads, 0)
        peaks[loads] = collect(write_config(folder, root), str(folder / f"mem_{datasets}x{loads}.lake"))
        shutil.rmtree(root)
    ratio = peaks[many].peak_mib / peaks[few].peak_mib
    return [
        f"**Peak memory of a full collect, {datasets} datasets:**",
        "",
        "| loads per dataset | time | peak memory | goal | |",
        "|---:|---:|---:|---|---|",
        f"| {few} | {peaks[few].seconds:.2f} s | {peaks[few].peak_mib:,.0f} MiB | | |",
        f"| {many} | {peaks[many].seconds:.2f} s | {peaks[many].peak_mib:,.0f} MiB | ≤ 1.2× of {few}: "
        f"{ratio:.2f}× | {verdict(ratio <= 1.2)} |",
        "",
    ]


PII_DECISION = textwrap.dedent(
    """
    import sys, time
    from glasspane.store import Store
    from glasspane.store.pii_decisions import DecidedColumn, record_decisions
    store = Store(sys.argv[1])
    with store.reader() as con:
        columns = con.execute("SELECT location, dataset_name, table_name, column_name FROM columns LIMIT 2").fetchall()
    times = []
    for (location, dataset, table, column) in columns:
        started = time.perf_counter()
        record_decisions(store, [DecidedColumn(location, dataset, table, column, "email")], "confirmed", "bench")
        times.append(time.perf_counter() - started)
    print(" ".join(f"{t:.3f}" for t in times))
    """
)


def bench_sizes(folder: Path, template: Path, sizes: list[int]) -> list[str]:
    from benchmarks import synthetic_store

    root = folder / "one_new"
    lines = [
        "**One new load collected into stores of growing size** (whole process):",
        "",
        "| store | runs | time | peak memory | vs smallest | goal | |",
        "|---|---:|---:|---:|---|---|---|",
    ]
    base: Measured | None = None
    decision = ""
    load_numbers = itertools.count()  # each new load of the one-dataset tree
    for n, runs in enumerate(sizes):
        path = folder / f"synthetic_{runs}.lake"
        # built in a process of its own: a child forked from a parent holding the build's gigabytes would
        # count them in its own peak memory (ru_maxrss covers the moments before exec)
        described = run_process_output(["-m", "benchmarks.synthetic_store", "--runs", str(runs), "--out", str(path)])
        built_runs = int(re.search(r"([\d,]+) runs", described).group(1).replace(",", ""))
        grow(template, root, 1, 1, next(load_numbers))
        config = write_config(folder, root)
        collect(config, str(path))  # the tree's first collect: its dataset is new to the store
        repeats = []
        for _ in range(REPEAT):  # the median of three: one figure is at the machine's mercy
            grow(template, root, 1, 1, next(load_numbers))
            repeats.append(collect(config, str(path)))
        measured = Measured(
            statistics.median(m.seconds for m in repeats), statistics.median(m.peak_mib for m in repeats)
        )
        base = base or measured
        ratio_t, ratio_m = measured.seconds / base.seconds, measured.peak_mib / base.peak_mib
        met = ratio_t <= 1.3 and ratio_m <= 1.3 if base is not measured else None
        lines.append(
            f"| {runs:,} | {built_runs:,} | {measured.seconds:.2f} s | {measured.peak_mib:,.0f} MiB | "
            f"{ratio_t:.2f}× time, {ratio_m:.2f}× memory | ≤ 1.3× | {verdict(met)} |"
        )
        if n == len(sizes) - 1:
            cold, warm = (float(t) for t in run_process_output(["-c", PII_DECISION, str(path)]).split())
            decision = row(
                f"a PII decision on the {built_runs:,}-run store",
                f"{cold:.3f} s (first), {warm:.3f} s",
                "≤ 0.3 s",
                max(cold, warm) <= 0.3,
            )
        synthetic_store.remove(path)
    return [*lines, "", "| measure | figure | goal | |", "|---|---:|---|---|", decision, ""]


def run_process_output(args: list[str]) -> str:
    return subprocess.run([sys.executable, *args], cwd=PROJECT, check=True, capture_output=True, text=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=int, default=200)
    parser.add_argument("--loads", type=int, default=50)
    parser.add_argument("--many-loads", type=int, default=500)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 300_000, 1_000_000])
    parser.add_argument("--skip-sizes", action="store_true", help="skip the synthetic stores (minutes at 1M)")
    parser.add_argument("--skip-tree", action="store_true", help="only the synthetic stores")
    args = parser.parse_args()
    compile_code()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        template = make_template(folder)
        if not args.skip_tree:
            print("\n".join(bench_tree(folder, template, args.datasets, args.loads)), flush=True)
            print("\n".join(bench_memory(folder, template, args.datasets, args.loads, args.many_loads)), flush=True)
        if not args.skip_sizes:
            print("\n".join(bench_sizes(folder, template, args.sizes)), flush=True)


if __name__ == "__main__":
    main()
