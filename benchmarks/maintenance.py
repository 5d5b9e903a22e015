"""Benchmark: a year of hourly collects keeps the store's files and size bounded.

    .venv/bin/python -m benchmarks.maintenance [--days 365] [--datasets 10] [--markdown]

A local filesystem tree of `--datasets` dlt datasets (the template of `benchmarks.collect`) gets a
new load in every dataset each simulated hour, and a collect runs in this process, as an hourly
schedule running `python -m collectors collect` would; a collect compacts crowded tables itself.
Once a simulated day, maintenance runs, as the first collect of a new day would. The clock is
simulated: after each collect, the snapshots it committed are stamped with its simulated hour in
the catalog, and maintenance runs at the simulated time, so it forgets what a real year would.

Prints, at the end of each simulated week: the store's live data files, the files and bytes in its
data folder, the catalog's size with its write-ahead log, the snapshots kept, the runs stored, and
the week's median and slowest collect; then whether files, snapshots and the catalog stayed bounded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.collect import grow, make_template
from benchmarks.pages import render
from collectors import registry
from collectors.runner import collect
from glasspane.config import SourceConfig
from glasspane.store import Store
from glasspane.store.lake import CATALOG, parse_location
from glasspane.store.maintenance import live_files, maintain


@dataclass
class Week:
    """The store at the end of one simulated week, and that week's collects."""

    week: int
    live_files: int
    disk_files: int
    disk_mib: float
    catalog_mib: float
    snapshots: int
    runs: int
    collect_median_s: float
    collect_max_s: float
    maintain_max_s: float


def measure(store: Store, week: int, collects: list[float], maintains: list[float]) -> Week:
    """The store's files, sizes, snapshots and runs now."""
    assert store.path is not None
    with store.reader() as con:
        files = live_files(con)
        snapshots = con.execute(f"SELECT count(*) FROM {CATALOG}.ducklake_snapshot").fetchone()[0]
        runs = con.execute("SELECT count(*) FROM runs").fetchone()[0]
    data = [p for p in Path(f"{store.path}.files").rglob("*") if p.is_file()]
    catalog = [p for p in store.path.parent.glob(f"{store.path.name}*") if p.is_file()]
    return Week(
        week,
        files,
        len(data),
        sum(p.stat().st_size for p in data) / 2**20,
        sum(p.stat().st_size for p in catalog) / 2**20,
        snapshots,
        runs,
        statistics.median(collects),
        max(collects),
        max(maintains, default=0.0),
    )


def stamp(store: Store, now: dt.datetime, after: int) -> int:
    """Date the snapshots after snapshot `after` at `now` (the simulated clock), a microsecond apart in
    their order; the newest snapshot's id."""
    with store.reader() as con:
        newest = con.execute(f"SELECT max(snapshot_id) FROM {CATALOG}.ducklake_snapshot").fetchone()[0]
    store.write(
        lambda con: con.execute(
            f"""UPDATE {CATALOG}.ducklake_snapshot SET snapshot_time = ? + to_microseconds(snapshot_id - ?)
                WHERE snapshot_id > ?""",
            [now, newest, after],
        )
    )
    return newest


def simulate(folder: Path, days: int, datasets: int) -> list[Week]:
    """Hourly collects and daily maintenance for `days` simulated days; the store at the end of each week."""
    template = make_template(folder)
    root = folder / "tree"
    source = SourceConfig("tree", "filesystem", {"bucket_url": root.as_uri()}, "benchmark")
    store = Store(parse_location(folder / "pane.lake"))
    store.ensure_current()
    start = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    stamped = 0  # the newest snapshot dated on the simulated clock
    weeks: list[Week] = []
    collects: list[float] = []
    maintains: list[float] = []
    for hour in range(days * 24):
        grow(template, root, datasets, 1, hour)
        started = time.perf_counter()
        summary = collect([registry.build(source)], store)
        collects.append(time.perf_counter() - started)
        if not all(o.status == "ok" for o in summary.outcomes):
            raise RuntimeError(f"hour {hour}: {[o.errors for o in summary.outcomes]}")
        now = start + dt.timedelta(hours=hour + 1)
        stamped = stamp(store, now, stamped)
        if (hour + 1) % 24 == 0:
            started = time.perf_counter()
            maintain(store, now=now)
            maintains.append(time.perf_counter() - started)
        if (hour + 1) % (24 * 7) == 0:
            weeks.append(measure(store, (hour + 1) // (24 * 7), collects, maintains))
            print(_row(weeks[-1]), flush=True)
            collects, maintains = [], []
    return weeks


HEADERS = [
    "week",
    "live data files",
    "files on disk",
    "data MiB",
    "catalog MiB",
    "snapshots",
    "runs",
    "collect median",
    "collect max",
    "maintenance max",
]


def _cells(w: Week) -> list[str]:
    return [
        str(w.week),
        str(w.live_files),
        str(w.disk_files),
        f"{w.disk_mib:.1f}",
        f"{w.catalog_mib:.1f}",
        str(w.snapshots),
        f"{w.runs:,}",
        f"{w.collect_median_s:.2f} s",
        f"{w.collect_max_s:.2f} s",
        f"{w.maintain_max_s:.2f} s",
    ]


def _row(w: Week) -> str:
    return "  ".join(f"{h}={c}" for h, c in zip(HEADERS, _cells(w), strict=True))


def verdicts(weeks: list[Week]) -> list[str]:
    """Bounded: the last week's files, snapshots and catalog against the second week's (the first full
    week of kept snapshots), while the runs kept growing."""
    if len(weeks) < 3:
        return ["too few weeks to judge: run at least 3"]
    second, last = weeks[1], weeks[-1]
    return [
        f"live data files: {second.live_files} in week 2, {last.live_files} in week {last.week}",
        f"files on disk: {second.disk_files} in week 2, {last.disk_files} in week {last.week}",
        f"snapshots kept: {second.snapshots} in week 2, {last.snapshots} in week {last.week}",
        f"catalog: {second.catalog_mib:.1f} MiB in week 2, {last.catalog_mib:.1f} MiB in week {last.week}",
        f"data: {second.disk_mib:.1f} MiB for {second.runs:,} runs, {last.disk_mib:.1f} MiB for {last.runs:,} "
        f"({last.disk_mib * 2**20 / max(last.runs, 1):.0f} bytes a run)",
        f"collects: median {second.collect_median_s:.2f} s in week 2, "
        f"{last.collect_median_s:.2f} s in week {last.week}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--datasets", type=int, default=10)
    parser.add_argument("--markdown", action="store_true", help="print the weeks' table as Markdown")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        weeks = simulate(Path(tmp), args.days, args.datasets)
    print(render(HEADERS, [_cells(w) for w in weeks], args.markdown))
    print("\n".join(verdicts(weeks)))


if __name__ == "__main__":
    main()
