"""Collect many sources at once: read in parallel, isolate failures, write while reading."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import queue
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from collectors.base import Collector, Dataset, SourceError
from glasspane.dlt_meta import redact_line
from glasspane.records import DatasetBatch
from glasspane.store import Store
from glasspane.store.cursors import KnownSources, read_known
from glasspane.store.maintenance import MaintenanceReport, maintain_if_due
from glasspane.store.pending import Pending, SourceOutcome, mark_failure

if TYPE_CHECKING:
    import duckdb

MAX_PARALLEL_SOURCES = 4
FLUSH_RECORDS = 20_000  # records written per transaction: bounds a collect's memory
QUEUED_BATCHES = 16  # datasets read and waiting for the writer: reading never runs far ahead of writing
# DuckDB threads of a collect's write into an embedded store: each statement touches one batch's keys, and a
# second thread's buffers only cost memory and compete with the sources still being read (200 datasets ×
# 500 loads: 7.8 s and 330 MiB on one thread, 8.4 s and 366 MiB on two; one new load into a 1M-run store:
# 0.88 s and 256 MiB against 0.95 s and 273 MiB). Maintenance and migrations keep every thread.
WRITE_THREADS = 1
OUTCOME_HOLD_S = 120.0  # how long a finished source's outcome may wait for the collect's next write
T, R = TypeVar("T"), TypeVar("R")
DIGEST = "written_digest"  # cursor key: the fingerprint of the records last written for a dataset that re-sends them


@dataclass
class Progress:
    """Datasets done out of those discovered so far, across every source; `total` grows."""

    done: int = 0
    total: int = 0
    message: str = ""


ProgressCallback = Callable[[Progress], None]


@dataclass
class CollectSummary:
    """What one collect did, source by source."""

    collect_id: str
    outcomes: list[SourceOutcome]
    maintenance: MaintenanceReport | None = None  # when the collect also maintained the store
    notes: list[str] = field(default_factory=list)  # what went wrong outside any source

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
    return redact_line(f"source '{source}': {detail}")


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


class _Handoff:
    """Batches from the reading threads to the writing one. At most `size` wait: a reader that gets ahead
    waits, so a collect's memory stays bounded however much it reads. Once closed (the writer stopped),
    what readers hand over is dropped instead of waited for."""

    def __init__(self, size: int):
        self.queue: queue.Queue = queue.Queue(maxsize=size)
        self.closed = threading.Event()

    def put(self, item: object) -> None:
        while not self.closed.is_set():
            try:
                self.queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def get(self, timeout: float | None = None) -> object | None:
        """The next item; None when `timeout` seconds pass first."""
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None


def _bounded_map(pool: ThreadPoolExecutor, fn: Callable[[T], R], items: list[T], window: int) -> Iterator[R]:
    """`fn` over `items` in `pool`, in order, with at most `window` started and not yet taken: while the
    taker waits (for the writer), no more is read."""
    started: deque[Future[R]] = deque()
    for item in items:
        started.append(pool.submit(fn, item))
        if len(started) >= window:
            yield started.popleft().result()
    while started:
        yield started.popleft().result()


def _collect_source(collector: Collector, known: Future[KnownSources], tracker: _Tracker, out: _Handoff) -> None:
    """Read one source, handing each dataset's batch to `out` as it is read, then the source's outcome;
    `known`: what the store knows of the sources, read meanwhile."""
    started = dt.datetime.now(dt.UTC)
    errors: list[str] = []
    datasets: list[Dataset] = []
    stats: dict[str, int] = {}
    try:
        collector.open()
        datasets = collector.discover()
        cursors = known.result().cursors[collector.name]
        tracker.add(total=len(datasets), message=f"{collector.name}: {len(datasets)} datasets")

        def one(dataset: Dataset) -> tuple[Dataset, DatasetBatch | None, str | None]:
            try:
                return dataset, collector.collect(dataset, cursors.get(dataset.key, {})), None
            except Exception as ex:  # one dataset's failure never stops the others
                return dataset, None, describe_error(collector.name, ex)
            finally:
                tracker.add(done=1, message=f"{collector.name}: {dataset.key}")

        parallel = max(1, collector.max_parallel)
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            for dataset, batch, error in _bounded_map(pool, one, datasets, parallel):
                if error:
                    errors.append(error)
                if batch is not None:
                    for key, value in batch.stats.items():
                        stats[key] = stats.get(key, 0) + value
                    errors += [describe_error(collector.name, SourceError(*p)) for p in batch.problems]
                    out.put((collector.name, dataset, batch))
    except Exception as ex:  # the source as a whole is unreachable or unreadable
        errors.append(describe_error(collector.name, ex))
    finally:
        try:
            collector.close()
        except Exception as ex:
            errors.append(describe_error(collector.name, ex))
    errors += [describe_error(collector.name, p) for p in collector.problems]
    for key, value in collector.stats.items():
        stats[key] = stats.get(key, 0) + value
    out.put(
        SourceOutcome(
            source=collector.name,
            kind=collector.kind,
            location=collector.location,
            started_at=started,
            finished_at=dt.datetime.now(dt.UTC),
            status="error" if errors else "ok",
            errors=errors,
            datasets=len(datasets),
            stats=stats,
        )
    )


def _changed(known: KnownSources, source: str, dataset: Dataset, batch: DatasetBatch) -> bool:
    """False for a batch with nothing to write: its cursor stays where it was, and it holds nothing, or
    only what this dataset's previous write held. Some sources hand over what they hold whole on every
    collect (definitions, load packages, staging datasets); the digest of what a batch held beyond its
    new records rides in the cursor, so the next identical one is known without asking the store."""
    before = known.raw_cursors.get((source, dataset.key))
    previous = json.loads(before) if before is not None else {}
    written = previous.pop(DIGEST, None)
    batch.cursor.pop(DIGEST, None)
    whole = (batch.definitions, batch.staging, batch.load_packages)
    resends = any(part is not None for part in whole)
    if (
        before is None
        or batch.table_sizes  # sizes are a series: each collect's snapshot is kept
        or json.loads(json.dumps(batch.cursor, default=str)) != previous
    ):  # it moved: the records are new (a digest of them would be as large as they are)
        if resends:
            batch.cursor[DIGEST] = _digest(whole)
        return True
    records = (batch.runs, batch.table_counts, batch.steps, batch.schema_versions)
    if not any(records) and not resends:
        return False
    # records under an unmoved cursor were not in the write that moved it: they join the digest
    batch.cursor[DIGEST] = _digest(whole + records if any(records) else whole)
    return batch.cursor[DIGEST] != written


def _digest(parts: tuple) -> str:
    """A fingerprint of records."""
    text = json.dumps(parts, default=lambda o: vars(o) if hasattr(o, "__dict__") else str(o), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def collect(
    collectors: list[Collector],
    store: Store,
    progress: ProgressCallback | None = None,
    max_parallel_sources: int = MAX_PARALLEL_SOURCES,
    flush_records: int = FLUSH_RECORDS,
    outcome_hold_s: float = OUTCOME_HOLD_S,
) -> CollectSummary:
    """Collect every source, writing what is read while the sources are still being read.

    Batches are written in transactions of about `flush_records` records. A finished source's outcome
    (with what it read) waits for the collect's next write, at most `outcome_hold_s` after the previous
    one, so that a collect of many sources writes a few times rather than once per source: a write
    costs its opening, commit and summaries whatever it holds (and, into a scaled store, its turn with
    other collects'), and a run that two sources observe (a working folder and its destination) is
    merged once, as new, instead of merged again by a second write that rebuilds its pipeline's
    summaries from all its runs. A source that fails is recorded with its error; what it collected
    before stays in the store, and the other sources are written as usual. A collect that finds
    nothing new and no new error writes nothing.
    """
    # read while the sources open and list their datasets: DuckDB reads the store without holding Python's
    # lock, and a source needs its cursors only to read its first dataset
    ahead = ThreadPoolExecutor(max_workers=1)
    known_at = ahead.submit(read_known, store, [c.name for c in collectors])
    ahead.shutdown(wait=False)
    tracker = _Tracker(progress)
    writer = _Writer(store, tracker)
    committed = store.writes.committed
    results = _Handoff(QUEUED_BATCHES)
    outcomes: list[SourceOutcome] = []
    with ThreadPoolExecutor(max_workers=max(1, max_parallel_sources)) as pool:
        for collector in collectors:
            pool.submit(_collect_source, collector, known_at, tracker, results)
        try:
            known = known_at.result()
            while len(outcomes) < len(collectors):
                item = results.get(timeout=writer.outcomes_due_in(outcome_hold_s))
                if item is None:  # the outcomes held have waited long enough
                    writer.flush()
                elif isinstance(item, SourceOutcome):
                    outcomes.append(item)
                    touched = {*writer.wrote, *writer.pending.sources, *writer.failures}
                    if item.source in touched or item.status != "ok" or known.statuses.get(item.source) != "ok":
                        writer.pending.outcomes.append(item)
                        if writer.outcomes_due_in(outcome_hold_s) == 0:
                            writer.flush()
                elif _changed(known, *item):
                    source, dataset, batch = item
                    writer.pending.add(source, dataset.key, dataset.location, dataset.dataset_name, batch)
                    if writer.pending.records >= flush_records:
                        writer.flush()
        finally:
            results.closed.set()  # should writing have failed, no reader waits to hand over
    writer.flush()
    order = {c.name: i for i, c in enumerate(collectors)}
    outcomes.sort(key=lambda o: order[o.source])
    for outcome in outcomes:
        outcome.new_runs = writer.new_runs[outcome.source]
        mark_failure(outcome, writer.failures)
    summary = CollectSummary(writer.collect_id, outcomes)
    if store.writes.committed == committed:  # a collect that finds nothing new writes nothing: compacting waits
        known.due.crowded = []
    try:
        summary.maintenance = maintain_if_due(store, known.due)
    except Exception as ex:  # maintenance never fails a collect: the next one tries again
        summary.notes.append(f"store maintenance: {redact_line(str(ex), limit=300)}")
    tracker.add(message="done")
    return summary


class _Writer:
    """Writes a collect's pending batches; remembers the new runs and failed writes of each source."""

    def __init__(self, store: Store, tracker: _Tracker):
        self.store = store
        self.tracker = tracker
        self.collect_id = uuid.uuid4().hex
        self.pending = Pending(dt.datetime.now(dt.UTC))
        self.new_runs: Counter[str] = Counter()
        self.failures: dict[str, str] = {}  # source -> why the store refused its records
        self.wrote: set[str] = set()  # sources whose records were written
        self.last_write = time.monotonic()  # when the collect started, or its last write ended

    def outcomes_due_in(self, hold_s: float) -> float | None:
        """Seconds until the outcomes pending must be written (0: now); None when none is pending."""
        if not self.pending.outcomes:
            return None
        return max(0.0, self.last_write + hold_s - time.monotonic())

    def flush(self) -> None:
        """Write what is pending in one transaction; when that fails for a reason other than a
        concurrent writer, write each source alone so that only the refused source is marked failed."""
        pending, self.pending = self.pending, Pending(self.pending.collected_at)
        if not pending:
            return
        self.tracker.add(message="writing the store")
        try:
            self._write(pending)
        except Exception:
            for part in pending.split_by_source():
                try:
                    self._write(part)
                except Exception as ex:  # the store stays as it was for this source, and says why
                    source = next(iter(part.sources | {o.source for o in part.outcomes}))
                    self.failures[source] = describe_error(source, SourceError("store", f"write failed: {ex}"))
                    self._write(Pending(part.collected_at, outcomes=part.outcomes))

    def _write(self, part: Pending) -> None:
        from glasspane.store.ingest import write_pending  # the writing side: only a collect with news needs it

        def write(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
            if self.store.location.embedded:  # the write's own database (`lake.open_writer`): the setting ends with it
                con.execute(f"SET threads = {WRITE_THREADS}")
            return write_pending(con, part, self.collect_id, self.new_runs, self.failures)

        new = self.store.write(write)
        self.last_write = time.monotonic()
        self.new_runs.update(new)
        self.wrote |= part.sources
        for outcome in part.outcomes:  # as written: the summary says what the store says
            mark_failure(outcome, self.failures)
