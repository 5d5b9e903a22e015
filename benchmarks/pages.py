"""How each dashboard page and each query it makes scale with the store: 1k, 100k and 1M runs.

    .venv/bin/python -m benchmarks.pages [--sizes 1000 100000 1000000] [--repeat 3] [--markdown]

Builds (or reuses, from --cache) one synthetic store per size with `benchmarks.synthetic_store`, then
runs every page `app.py` navigates to in Streamlit's AppTest with the Streamlit caches cleared
first, so each run is cold and uncached, and records every `glasspane.ui.data.query` call the page
makes. Prints the median page time per size with the ratio largest / smallest size (the target: at
most 2×), then the slowest queries of each page. Stores grow in pipelines (√runs, up to 1,000) and
in days; `--pipelines N` holds the pipeline count instead.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import logging
import os
import re
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.testing.v1 import AppTest

from benchmarks import synthetic_store
from glasspane import settings
from glasspane.store import Store, schema_fingerprint
from glasspane.ui import data, strings

SIZES = (1_000, 100_000, 1_000_000)
TARGET = 2.0  # the largest store's page time over the smallest's
APP = settings.PROJECT_DIR / "app.py"
MAX_STORE_AGE_S = 12 * 3600  # data ends at build time: an older store has every pipeline late
SLOWEST_QUERIES = 3  # per page, in the second table
# Extra page views: the deep link a Slack alert opens, with its parameters read from the store.
ALERT_LINKS = {
    "pages/runs.py": "SELECT pipeline_name AS pipeline, run_key AS run FROM runs WHERE status = 'failed' "
    "ORDER BY started_at DESC LIMIT 1",
}


@dataclass(frozen=True)
class View:
    """A page to time, with the URL parameters it is opened with."""

    page: str
    params: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        """`runs`, or `runs ?pipeline&run` for a deep link."""
        name = Path(self.page).stem
        return f"{name} ?{'&'.join(k for k, _ in self.params)}" if self.params else name


@dataclass
class Timing:
    """A view's cold page runs at one size, and the time of each query-layer function in each run."""

    seconds: list[float] = field(default_factory=list)
    queries: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    @property
    def median(self) -> float:
        """The median page run."""
        return statistics.median(self.seconds)

    def query_median(self, name: str) -> float:
        """The median over runs of the time spent in one function (several calls summed)."""
        return statistics.median(self.queries.get(name) or [0.0])


def app_pages() -> list[str]:
    """The page files app.py's `st.navigation` registers, in its order."""
    return re.findall(r"st\.Page\(\s*[\"']([^\"']+\.py)[\"']", APP.read_text())


def size_label(runs: int) -> str:
    """1k, 100k, 1M."""
    for unit, suffix in ((1_000_000, "M"), (1_000, "k")):
        if runs >= unit:
            return f"{runs / unit:g}{suffix}"
    return str(runs)


def store_for(runs: int, cache: Path, rebuild: bool, pipelines: int | None) -> tuple[Path, str]:
    """A synthetic store of about `runs` runs in `cache`, reused when built recently by the same code."""
    planned, days = synthetic_store.plan(runs, pipelines)
    digest = hashlib.sha256(Path(synthetic_store.__file__).read_bytes() + schema_fingerprint().encode()).hexdigest()
    path = cache / f"store-{planned}x{days}-{digest[:12]}.lake"
    fresh = path.exists() and time.time() - path.stat().st_mtime < MAX_STORE_AGE_S
    if fresh and not rebuild:
        size = synthetic_store.disk_bytes(path) / 1e6
        return path, f"{planned:,} pipelines × {days} days, reused ({size:,.0f} MB)"
    for stale in cache.glob(f"store-{planned}x{days}-*.lake"):
        synthetic_store.remove(stale)
    return path, synthetic_store.build(path, planned, days).describe()


@contextlib.contextmanager
def recording() -> Iterator[list[tuple[str, float]]]:
    """Record (query-layer function, seconds) of every `data.query` call while the block runs."""
    calls: list[tuple[str, float]] = []
    original = data.query

    def timed(function: Callable[..., Any], **params: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(function, **params)
        finally:
            name = f"{function.__module__.removeprefix('glasspane.')}.{function.__qualname__}"
            calls.append((name, time.perf_counter() - started))

    data.query = timed
    try:
        yield calls
    finally:
        data.query = original


def _check(at: AppTest, what: str) -> None:
    """Raise when the run raised, or a page's guard showed an error instead of the page."""
    if at.exception:
        raise RuntimeError(f"{what}: {at.exception[0].message}\n{''.join(at.exception[0].stack_trace)}")
    guarded = strings.PAGE_ERROR.split("{")[0]
    errors = [e.value for e in at.error if str(e.value).startswith(guarded)]
    if errors:
        raise RuntimeError(f"{what}: {errors[0]}")


def quiet_streamlit() -> None:
    """Silence Streamlit's warnings about caches and elements used outside a session: expected here."""
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("streamlit"):
            logging.getLogger(name).setLevel(logging.ERROR)


def clear_caches() -> None:
    """Empty Streamlit's caches: every cached read, `glasspane.ui.data`'s query cache included."""
    quiet_streamlit()
    st.cache_data.clear()
    st.cache_resource.clear()


def time_view(view: View, timing: Timing | None, timeout: float) -> None:
    """One cold run of a page: app.py first (not timed), then the caches cleared and the page timed
    into `timing` (None: a warm-up run, for imports and the file's pages in the OS cache)."""
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.run()
    _check(at, "app.py")
    clear_caches()
    for key, value in view.params:
        at.query_params[key] = value
    with recording() as calls:
        started = time.perf_counter()
        at.switch_page(view.page).run()
        elapsed = time.perf_counter() - started
    _check(at, view.label)
    if timing is None:
        return
    timing.seconds.append(elapsed)
    per_function: dict[str, float] = defaultdict(float)
    for name, seconds in calls:
        per_function[name] += seconds
    for name, seconds in per_function.items():
        timing.queries[name].append(seconds)


def views_for(store: Path) -> list[View]:
    """Every page app.py navigates to, and the alert deep links the store gives parameters for."""
    pages = app_pages()
    views = [View(page) for page in pages]
    with Store(store).reader() as con:
        for page, sql in ALERT_LINKS.items():
            cursor = con.execute(sql)
            row = cursor.fetchone()
            if page in pages and row:
                views.append(View(page, tuple(zip((d[0] for d in cursor.description), map(str, row), strict=True))))
    return views


def render(headers: list[str], rows: list[list[str]], markdown: bool) -> str:
    """A text table, or a Markdown one (numbers right-aligned)."""
    numeric = [
        i > 0 and all(re.match(r"^[\d.,]+ ?(s|×)?$", r[i]) or r[i] == "–" for r in rows) for i in range(len(headers))
    ]
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(x) for x in column) for column in zip(headers, *rows, strict=True)]
    fit = [lambda text, w=w, n=n: text.rjust(w) if n else text.ljust(w) for w, n in zip(widths, numeric, strict=True)]
    lines = ["  ".join(f(h) for f, h in zip(fit, headers, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(f(x) for f, x in zip(fit, r, strict=True)) for r in rows]
    return "\n".join(lines)


def _seconds(value: float) -> str:
    return f"{value:.3f} s" if value < 1 else f"{value:.2f} s"


def _ratio(first: float, last: float) -> str:
    return f"{last / first:.1f}×" if first > 0 else "–"


def main() -> None:
    """Build or reuse the stores, time every page and query at each size, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="store sizes, in runs")
    parser.add_argument(
        "--repeat", type=int, default=3, help="cold runs per page and size, after one warm-up run (the median is shown)"
    )
    parser.add_argument("--pipelines", type=int, help="hold the pipeline count (days grow with the size)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "glasspane-bench")
    parser.add_argument("--rebuild", action="store_true", help="build the stores even when a cached one fits")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds one page run may take")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    args = parser.parse_args()
    quiet_streamlit()
    sizes = sorted(args.sizes)
    args.cache.mkdir(parents=True, exist_ok=True)

    results: dict[int, dict[str, Timing]] = {}  # size -> view label -> timing
    for runs in sizes:
        path, described = store_for(runs, args.cache, args.rebuild, args.pipelines)
        print(f"{size_label(runs)} runs: {described}", flush=True)
        os.environ[settings.STORE_ENV] = str(path)
        results[runs] = {}
        for view in views_for(path):
            timing = results[runs][view.label] = Timing()
            time_view(view, None, args.timeout)
            for _ in range(args.repeat):
                time_view(view, timing, args.timeout)
            print(f"  {view.label:<28} {_seconds(timing.median)}", flush=True)

    first, last = sizes[0], sizes[-1]
    views = list(dict.fromkeys(label for by_view in results.values() for label in by_view))
    headers = ["page", *(f"{size_label(s)} runs" for s in sizes), f"{size_label(last)} / {size_label(first)}", ""]
    rows, over = [], []
    for view in views:
        times = [results[s][view].median if view in results[s] else None for s in sizes]
        ratio = times[-1] / times[0] if times[0] and times[-1] else None
        if ratio and ratio > TARGET:
            over.append(view)
        flag = f"over {TARGET:g}×" if ratio and ratio > TARGET else ""
        rows.append(
            [view, *(_seconds(t) if t is not None else "–" for t in times), f"{ratio:.1f}×" if ratio else "–", flag]
        )
    print(f"\nCold page runs (AppTest, median of {args.repeat}):\n")
    print(render(headers, rows, args.markdown))

    headers = ["page", "query", *(f"{size_label(s)} runs" for s in sizes), f"{size_label(last)} / {size_label(first)}"]
    rows = []
    for view in views:
        largest = results[last].get(view) or results[first][view]
        ranked = sorted(largest.queries, key=largest.query_median, reverse=True)[:SLOWEST_QUERIES]
        for name in ranked:
            times = [results[s][view].query_median(name) if view in results[s] else 0.0 for s in sizes]
            rows.append([view, name, *map(_seconds, times), _ratio(times[0], times[-1])])
    print(f"\nSlowest queries per page (uncached `data.query` calls, median of {args.repeat}):\n")
    print(render(headers, rows, args.markdown))
    if len(sizes) > 1:
        verdict = f"over {TARGET:g}×: {', '.join(over)}" if over else f"every page within {TARGET:g}×"
        print(f"\n{size_label(last)} runs against {size_label(first)}: {verdict}")


if __name__ == "__main__":
    main()
