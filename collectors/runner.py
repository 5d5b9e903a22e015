"""Collect many sources at once: read in parallel, isolate failures, then write the store once."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from collectors.base import Collector, Dataset, SourceError
from glasspane.dlt_meta import redact
from glasspane.records import DatasetBatch
from glasspane.store import Store, summaries
from glasspane.store.governance import refresh_lineage
from glasspane.store.ingest import SourceOutcome, write_dataset, write_outcome

MAX_PARALLEL_SOURCES = 4


@dataclass
class Progress:
    """Datasets done out of those discovered so far, across every source; `total` grows."""

    done: int = 0
    total: int = 0
    message: str = ""


ProgressCallback = Callable[[Progress], None]


@dataclass
class SourceResult:
    """A source's outcome and the batches read from its datasets."""

    outcome: SourceOutcome
    batches: list[tuple[Dataset, DatasetBatch]] = field(default_factory=list)


@dataclass
class CollectSummary:
    """What one collect did, source by source."""

    collect_id: str
    outcomes: list[SourceOutcome]

    @property
    def ok(self) -> bool:
        """True when every source was collected without an error."""
        return all(o.status == "ok" for o in self.outcomes)

    @property
    def new_runs(self) -> int:
        """Runs the store did not know before this collect."""
        return sum(o.new_runs for o in self.outcomes)


def describe_error(source: str, ex: BaseException) -> str:
    """One line naming the source and what went wrong, with credentials and data values redacted."""
    detail = str(ex) if isinstance(ex, SourceError) else f"{type(ex).__name__}: {ex}"
    return redact(" ".join(f"source '{source}': {detail}".split()), limit=500) or ""


class _Tracker:
    def __init__(self, callback: ProgressCallback | None):
        self.callback = callback
        self.state = Progress()
        self.lock = threading.Lock()

    def add(self, total: int = 0, done: int = 0, message: str = "") -> None:
        with self.lock:
            self.state.total += total
            self.state.done += done
            self.state.message = message or self.state.message
            snapshot = Progress(self.state.done, self.state.total, self.state.message)
        if self.callback:
            self.callback(snapshot)


def _collect_source(collector: Collector, cursors: dict[str, dict], tracker: _Tracker) -> SourceResult:
    started = dt.datetime.now(dt.UTC)
    errors: list[str] = []
    batches: list[tuple[Dataset, DatasetBatch]] = []
    datasets: list[Dataset] = []
    try:
        collector.open()
        datasets = collector.discover()
        tracker.add(total=len(datasets), message=f"{collector.name}: {len(datasets)} datasets")

        def one(dataset: Dataset) -> tuple[Dataset, DatasetBatch | None, str | None]:
            try:
                return dataset, collector.collect(dataset, cursors.get(dataset.key, {})), None
            except Exception as ex:  # one dataset's failure never stops the others
                return dataset, None, describe_error(collector.name, ex)
            finally:
                tracker.add(done=1, message=f"{collector.name}: {dataset.key}")

        with ThreadPoolExecutor(max_workers=max(1, collector.max_parallel)) as pool:
            for dataset, batch, error in pool.map(one, datasets):
                if error:
                    errors.append(error)
                if batch is not None:
                    batches.append((dataset, batch))
                    errors += [describe_error(collector.name, SourceError(*p)) for p in batch.problems]
    except Exception as ex:  # the source as a whole is unreachable or unreadable
        errors.append(describe_error(collector.name, ex))
    finally:
        try:
            collector.close()
        except Exception as ex:
            errors.append(describe_error(collector.name, ex))
    errors += [describe_error(collector.name, p) for p in collector.problems]
    outcome = SourceOutcome(
        source=collector.name,
        kind=collector.kind,
        location=collector.location,
        started_at=started,
        finished_at=dt.datetime.now(dt.UTC),
        status="error" if errors else "ok",
        errors=errors,
        datasets=len(datasets),
        stats=_sum_stats(batches, collector.stats),
    )
    return SourceResult(outcome, batches)


def _sum_stats(batches: list[tuple[Dataset, DatasetBatch]], source_stats: dict[str, int]) -> dict[str, int]:
    totals: dict[str, int] = dict(source_stats)
    for _, batch in batches:
        for key, value in batch.stats.items():
            totals[key] = totals.get(key, 0) + value
    return totals


def _read_cursors(store: Store, names: list[str]) -> dict[str, dict[str, dict]]:
    cursors: dict[str, dict[str, dict]] = {name: {} for name in names}
    if not store.exists():
        return cursors
    store.ensure_current()
    with store.reader() as con:
        rows = con.execute("SELECT source, dataset_key, cursor FROM raw.datasets").fetchall()
    for source, key, cursor in rows:
        if source in cursors:
            cursors[source][key] = json.loads(cursor) if cursor else {}
    return cursors


def collect(
    collectors: list[Collector],
    store: Store,
    progress: ProgressCallback | None = None,
    max_parallel_sources: int = MAX_PARALLEL_SOURCES,
) -> CollectSummary:
    """Collect every source, then write what was read in one store write, source by source.

    A source that fails is recorded with its error; what it collected before stays in the store,
    and the other sources are written as usual.
    """
    collect_id = uuid.uuid4().hex
    cursors = _read_cursors(store, [c.name for c in collectors])
    tracker = _Tracker(progress)
    with ThreadPoolExecutor(max_workers=max(1, max_parallel_sources)) as pool:
        results = list(pool.map(lambda c: _collect_source(c, cursors[c.name], tracker), collectors))
    tracker.add(message="writing the store")
    collected_at = dt.datetime.now(dt.UTC)
    with store.writer() as con:
        for result in results:
            _write_result(con, collect_id, result, collected_at)
        summaries.refresh(con)
        refresh_lineage(con)
    tracker.add(message="done")
    return CollectSummary(collect_id, [r.outcome for r in results])


def _write_result(con, collect_id: str, result: SourceResult, collected_at: dt.datetime) -> None:
    outcome = result.outcome
    con.begin()
    try:
        for dataset, batch in result.batches:
            outcome.new_runs += write_dataset(
                con, outcome.source, dataset.key, dataset.location, dataset.dataset_name, batch, collected_at
            )
        write_outcome(con, collect_id, outcome)
        con.commit()
    except Exception as ex:  # keep the store as it was for this source, and say why
        con.rollback()
        outcome.status = "error"
        outcome.new_runs = 0
        outcome.errors.append(describe_error(outcome.source, SourceError("store", f"write failed: {ex}")))
        con.begin()
        write_outcome(con, collect_id, outcome)
        con.commit()
