"""Benchmark: collecting N datasets x M loads from an S3 API (moto_server), full vs no-change,
against reading the same dlt tables with `dlt.dataset(...)` per dataset (the naive way).

    .venv/bin/python benchmarks/s3_collect.py [--datasets N] [--loads M]

Every dataset is written by a real dlt pipeline (parquet, no trace: row counts from footers).
Requests are counted by a recording proxy in front of the server, for both ways alike.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import dlt

from collectors.filesystem import FilesystemCollector
from collectors.runner import collect
from glasspane.config import SourceConfig
from glasspane.settings import environment
from glasspane.store import Store
from tests import dlt_fixtures as fx
from tests.servers import MotoS3, RecordingProxy

BUCKET = "bench"
DLT_TABLES = ("_dlt_loads", "_dlt_version", "_dlt_pipeline_state")


def build(s3: MotoS3, folder: Path, datasets: int, loads: int) -> list[str]:
    """N datasets with M loads each, by real dlt pipelines."""
    names = [f"team_{i:02d}" for i in range(datasets)]
    destination = dlt.destinations.filesystem(f"s3://{BUCKET}/org", credentials=s3.credentials())
    for name in names:
        pipeline = fx.pipeline(name, folder, destination, name)
        for load in range(loads):
            pipeline.run(fx.users(3, start=load * 3), loader_file_format="parquet")
    return names


def glasspane_collect(store: Store, footers: bool = True) -> tuple[float, dict[str, int], int]:
    started = time.perf_counter()
    options = {"bucket_url": f"s3://{BUCKET}/org", "footer_row_counts": footers}
    source = SourceConfig("bench", "filesystem", options, "benchmark")
    summary = collect([FilesystemCollector(source)], store)
    assert summary.ok, summary.outcomes[0].errors
    return time.perf_counter() - started, summary.outcomes[0].stats, summary.new_runs


def naive_read(names: list[str], credentials: dict[str, str]) -> tuple[float, int]:
    """What a script without Glasspane does: open each dataset with dlt and read dlt's tables."""
    started = time.perf_counter()
    rows = 0
    for name in names:
        dataset = dlt.dataset(dlt.destinations.filesystem(f"s3://{BUCKET}/org", credentials=credentials), name)
        for table in DLT_TABLES:
            rows += len(dataset[table].df())
    return time.perf_counter() - started, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=5)
    parser.add_argument("--loads", type=int, default=20)
    args = parser.parse_args()

    from duckdb_extensions import import_extension

    import_extension("httpfs")  # dlt.dataset reads s3:// through DuckDB's httpfs, installed from PyPI
    s3 = MotoS3()
    s3.client().create_bucket(Bucket=BUCKET)
    proxy = RecordingProxy(s3.endpoint)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            names = build(s3, Path(tmp) / "pipelines", args.datasets, args.loads)
            print(
                f"built {args.datasets} datasets x {args.loads} loads with dlt in {time.perf_counter() - started:.0f} s"
            )
            credentials = s3.credentials(proxy.endpoint)
            store = Store(Path(tmp) / "store.duckdb")
            env = {f"SOURCES__BENCH__CREDENTIALS__{k.upper()}": v for k, v in credentials.items()}
            results = []
            with environment(**env):
                runs = (
                    ("glasspane: full collect", store, True),
                    ("glasspane: no-change collect", store, True),
                    ("glasspane: full, no footer counts", Store(Path(tmp) / "plain.duckdb"), False),
                )
                for label, target, footers in runs:
                    proxy.clear()
                    seconds, stats, new_runs = glasspane_collect(target, footers)
                    results.append((label, seconds, proxy.count(), stats.get("bytes_read", 0), new_runs))
            for label in ("dlt.dataset per dataset: first read", "dlt.dataset per dataset: read again"):
                proxy.clear()
                seconds, _ = naive_read(names, credentials)
                results.append((label, seconds, proxy.count(), None, None))
    finally:
        proxy.stop()
        s3.stop()

    print(f"\n{args.datasets} datasets x {args.loads} loads = {args.datasets * args.loads} loads\n")
    print(f"{'':38} {'time (s)':>9} {'requests':>9} {'bytes read':>11} {'new runs':>9}")
    for label, seconds, requests, read, runs in results:
        read_text = f"{read:,}" if read is not None else "-"
        runs_text = str(runs) if runs is not None else "-"
        print(f"{label:38} {seconds:9.2f} {requests:9,} {read_text:>11} {runs_text:>9}")
    full, again, plain, naive, naive_again = results
    print()
    for label, (base, other) in {
        "no-change collect vs full collect": (again, full),
        "no-change collect vs dlt.dataset re-read": (again, naive_again),
        "full (no footers) vs dlt.dataset read": (plain, naive),
    }.items():
        print(
            f"{label:42} requests {base[2]:5,} vs {other[2]:5,} ({other[2] / base[2]:5.1f}x), "
            f"time {base[1]:6.2f} vs {other[1]:6.2f} s ({other[1] / base[1]:5.1f}x)"
        )


if __name__ == "__main__":
    main()
