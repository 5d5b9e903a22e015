"""`kind = "filesystem"`: a dlt filesystem destination (`file://`, `s3://`, `gs://`, `az://`...).

Every folder under `bucket_url` holding `_dlt_loads/` is a dataset. dlt writes its own tables as
one small JSON file per row, named so that listing replaces reading:
`_dlt_loads/<schema>__<load_id>.jsonl`, `_dlt_version/<schema>__<timestamp>__<hash>.jsonl`,
`_dlt_pipeline_state/<pipeline>__<load_id>__<hash>.jsonl`, whatever the data `layout`.

Keys sort by schema, then load id, so a folder is read as one walk in key order: a page of keys,
and where a page ends among a schema's keys already read, the next page starts after that schema's
position (S3 `StartAfter`, GCS `startOffset`). Discovery lists the prefix once and takes the first
page of each folder's `_dlt_loads/`: that page both proves the folder is a dataset and, while the
folder holds at most a page of keys (1,000), is all a collect with nothing new lists. The schemas
come from the keys themselves, so a schema added later is found in the same walk. Only when there
are new loads does a collect list `_dlt_version/` and `_dlt_pipeline_state/` the same way and read
the new files, their `_trace` rows and (for loads without a trace) their parquet footers.
A remote bucket is read through fsspec with dlt's own filesystem configuration and credentials; a local
folder needs neither, so a collect of local folders alone never loads dlt unless something is new.
"""

from __future__ import annotations

import bisect
import contextlib
import gzip
import io
import json
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit

from collectors.base import Collector, Dataset, SourceError
from collectors.bucket import Bucket, Entry, Page, by_name, narrowing_prefix
from collectors.destination import add_traces, dataset_batch, learn_versions, may_bring_versions
from collectors.meter import Meter
from collectors.parquet_footer import FooterError, read_num_rows
from collectors.traces import NESTING_SEPARATORS, TRACE_ROOT, TRACE_TABLES, canonical_rows
from glasspane.dlt_config import resolve_configuration
from glasspane.dlt_meta import filesystem_location, is_dlt_table
from glasspane.lazy_import import lazy
from glasspane.records import VIA_FILE_FOOTER, DatasetBatch, SchemaVersionRecord, TableCountRecord

DEFAULT_LAYOUT = "{table_name}/{load_id}.{file_id}.{ext}"
READ_THREADS = 8  # files read at once within one remote dataset
# Datasets of a remote bucket read at once: each waits on the network. A local folder's are read one at a
# time: its reads hardly wait, and threads only contend for the interpreter (200 local datasets × 66
# loads read in 1.4 s one at a time, 1.8 s two at a time, 2.9 s eight at a time).
REMOTE_DATASETS = 8
DEFAULT_LOOKBACK_HOURS = 24.0
DEFAULT_TIMEOUT_S = 30.0  # per call to a remote bucket, its retries included
TRACED = "traced"  # cursor key: whether a schema of the dataset has a `_trace` table (absent: not known)
S3_ATTEMPTS = 2  # tries of one S3 call within its timeout
_LOAD_ID = r"\d+(?:\.\d+)?"
T = TypeVar("T")


def layout_pattern(layout: str, table: str) -> re.Pattern[str]:
    """A regex matching the data files of `table` under a dlt layout, capturing the load id."""
    pattern, position = "", 0
    for match in re.finditer(r"\{(\w+)\}", layout):
        pattern += re.escape(layout[position : match.start()])
        key = match.group(1)
        if key == "table_name":
            pattern += re.escape(table)
        elif key == "load_id":
            pattern += f"(?P<load_id>{_LOAD_ID})"
        else:
            pattern += r"[^/]+?"
        position = match.end()
    pattern += re.escape(layout[position:])
    return re.compile("^" + pattern + "$")


def layout_prefix(layout: str, table: str, schema: str) -> tuple[str, bool]:
    """The fixed start of a table's file paths under a layout, and whether the load id comes right after it.

    When it does, files of loads after a given load id can be listed with `StartAfter`.
    """
    prefix, position = "", 0
    for match in re.finditer(r"\{(\w+)\}", layout):
        prefix += layout[position : match.start()]
        key = match.group(1)
        if key == "table_name":
            prefix += table
        elif key == "schema_name":
            prefix += schema
        else:
            return prefix, key == "load_id"
        position = match.end()
    return prefix + layout[position:], False


def _number(rest: str) -> float:
    """The load id or timestamp a dlt metadata file name starts with (after its prefix)."""
    try:
        return float(rest.split("__", 1)[0])
    except ValueError:
        return 0.0


def _rest(name: str, prefix: str) -> str:
    """`<load_id>` of `<prefix>__<load_id>.jsonl` (and `<ts>__<hash>` of versions and states)."""
    return name[len(prefix) + 2 : -len(".jsonl")]


def describe_bucket_error(ex: BaseException, source: str) -> str:
    """What went wrong talking to a bucket, in words a user can act on (never with credentials)."""
    message = " ".join(str(ex).split()) or type(ex).__name__
    chain = [ex, ex.__cause__, ex.__context__]
    names = " ".join(type(e).__name__ for e in chain if e is not None)
    if isinstance(ex, FileNotFoundError):
        return f"bucket or folder not found ({message})"
    if isinstance(ex, PermissionError):
        where = f"[sources.{source}.credentials] in .dlt/secrets.toml or SOURCES__{source.upper()}__CREDENTIALS__*"
        return f"access denied: check the source's credentials, {where} ({message})"
    if "FSTimeoutError" in names:  # an asynchronous filesystem's call outlived the source's timeout_s
        return "cannot reach the storage endpoint (no answer within the source's timeout_s)"
    if "Connect" in names or "Timeout" in names:
        return f"cannot reach the storage endpoint ({message})"
    return f"{type(ex).__name__}: {message}"


def local_folder(bucket_url: str) -> str | None:
    """The absolute folder of a local bucket URL (a path, or `file://`); None for a remote bucket."""
    url = urlsplit(bucket_url)
    if url.scheme == "file":
        return os.path.abspath(url.netloc + url.path)
    return os.path.abspath(os.path.expanduser(bucket_url)) if not url.scheme else None


class FilesystemCollector(Collector):
    """Reads dlt's metadata files from every dataset under a bucket URL."""

    kind = "filesystem"
    required_keys = ("bucket_url",)
    optional_keys = ("datasets", "layout", "layouts", "footer_row_counts", "lookback_hours", "timeout_s")

    def __init__(self, config):
        super().__init__(config)
        self.bucket_url = str(self.option("bucket_url"))
        self._location = filesystem_location(self.bucket_url)  # resolves a local path: asked per dataset
        self.local_root = local_folder(self.bucket_url)  # None for a remote bucket
        self.max_parallel = 1 if self.local_root is not None else REMOTE_DATASETS
        self.layout = str(self.option("layout") or DEFAULT_LAYOUT)
        self.layouts = dict(self.option("layouts") or {})  # dataset name -> its own layout
        self.footers = bool(self.option("footer_row_counts", True))
        self.lookback_s = float(self.option("lookback_hours", DEFAULT_LOOKBACK_HOURS)) * 3600
        self.timeout_s = float(self.option("timeout_s", DEFAULT_TIMEOUT_S))
        self.bucket: Bucket | None = None
        self._first_pages: dict[str, Page] = {}  # dataset key -> first page of its `_dlt_loads/`, from discovery
        self._pool: ThreadPoolExecutor | None = None

    @property
    def location(self) -> str:
        return self._location

    def open(self) -> None:
        local = self.local_root
        try:
            fs, root = (None, local) if local is not None else self._remote()
        except Exception as ex:
            raise SourceError(self.location, f"cannot open bucket ({type(ex).__name__}: {ex})") from None
        self.bucket = Bucket(fs, root, self.timeout_s)
        self._first_pages = {}
        # a local folder is read file after file, dataset after dataset (`max_parallel`);
        # a remote bucket's files are read at once, in one pool the source's datasets share
        self._pool = None if local is not None else ThreadPoolExecutor(max_workers=READ_THREADS)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _remote(self) -> tuple[Any, str]:
        """fsspec filesystem and root of a remote bucket, with dlt's configuration and credentials."""
        configuration = lazy("dlt.common.storages.configuration").FilesystemConfiguration(bucket_url=self.bucket_url)
        config = resolve_configuration(configuration, sections=("sources", self.name))
        if config.protocol == "s3":  # each call gives up within timeout_s, retries included
            per_try = self.timeout_s / (2 * S3_ATTEMPTS + 1)  # connecting or waiting, each try, and backoff
            botocore = {
                "connect_timeout": per_try,
                "read_timeout": per_try,
                "retries": {"max_attempts": S3_ATTEMPTS, "mode": "standard"},
            }
            config.kwargs = {**(config.kwargs or {}), "config_kwargs": botocore}
        fs, root = lazy("dlt.common.storages.fsspec_filesystem").fsspec_from_config(config)
        if config.protocol == "s3":
            fs.retries = 1  # s3fs would retry botocore's retries again, five times
        return fs, root

    def _parallel(self, fn: Callable[[T], Any], items: Iterable[T]) -> list[Any]:
        """`fn` over `items`, in the source's read pool when it has one."""
        items = list(items)
        if self._pool is None or len(items) <= 1:
            return [fn(i) for i in items]
        return list(self._pool.map(fn, items))

    def url(self, path: str) -> str:
        """A path as the user would write it, for messages."""
        root = self.bucket.root if self.bucket else ""
        relative = path[len(root) :].lstrip("/") if root and path.startswith(root) else path
        return f"{self.location}/{relative}" if relative else self.location

    def discover(self) -> list[Dataset]:
        """One listing of the prefix, then one of each folder's `_dlt_loads/` (its first page). A source
        that names its datasets skips the first: their own listings say which exist."""
        assert self.bucket is not None, "open() first"
        meter = Meter()
        try:
            wanted = list(self.option("datasets") or [])
            candidates = wanted or self.bucket.folders(self.bucket.root, meter)
            pages = self._parallel(lambda f: self.bucket.page(self.bucket.path(f, "_dlt_loads"), "", meter), candidates)
        except Exception as ex:
            raise SourceError(self.location, describe_bucket_error(ex, self.name)) from None
        finally:
            self.add_stats(meter.counts)
        datasets = []
        for folder, page in zip(candidates, pages, strict=True):
            if any("__" in e.name for e in page.entries):
                self._first_pages[folder] = page
                datasets.append(Dataset(key=folder, dataset_name=folder, location=self.location))
        for name in sorted(set(wanted) - set(self._first_pages)):
            self.add_problem(SourceError(f"{self.location}/{name}", "dataset not found (no _dlt_loads/ in it)"))
        return datasets

    def collect(self, dataset: Dataset, cursor: dict[str, Any]) -> DatasetBatch:
        assert self.bucket is not None, "open() first"
        meter, problems = Meter(), DatasetBatch()
        base = self.bucket.path(dataset.key)
        positions = {k: dict(cursor.get(k) or {}) for k in ("loads", "versions", "states")}
        versions_listed = False
        with self._reading(base):
            first = self._first_pages.pop(dataset.key, None)
            loads = self._read_new(f"{base}/_dlt_loads", positions["loads"], meter, problems, first)
            versions, states = [], []
            if loads:  # dlt writes versions, states and traces with a load: nothing new without one
                if may_bring_versions(loads, cursor):
                    before = len(problems.problems)
                    versions = self._read_new(f"{base}/_dlt_version", positions["versions"], meter, problems)
                    versions_listed = len(problems.problems) == before  # every new version read
                states = self._read_new(f"{base}/_dlt_pipeline_state", positions["states"], meter, problems)
                for folder, lost in (("versions", "schema history"), ("states", "pipeline names of loads")):
                    if not positions[folder]:  # dlt writes one with every dataset's first load: none ever seen
                        table = "_dlt_version" if folder == "versions" else "_dlt_pipeline_state"
                        problems.problems.append(
                            (
                                self.url(base),
                                f"no {table} files: its {lost} cannot be read; its runs are still collected",
                            )
                        )
        batch = dataset_batch(dataset, "filesystem", cursor, loads, versions, states)
        uploads: set[str] = set()
        schema_of = {str(r["load_id"]): str(r.get("schema_name") or "") for r in loads}
        if loads:
            learn_versions(batch, cursor, loads, versions_listed and bool(positions["versions"]))
            every_version_read = versions_listed and not cursor.get("versions") and bool(batch.schema_versions)
            traced = _traced(batch, cursor, every_version_read)
            if traced is not None:
                batch.cursor[TRACED] = traced
            if traced is not False:  # a trace is loaded into the pipeline's own schema: a `_trace` table shows it
                with self._reading(base):
                    trace_tables, uploads = self._read_traces(base, dataset.key, schema_of, meter)
                add_traces(batch, dataset, loads, trace_tables)
        batch.problems += problems.problems
        batch.cursor.update(positions)
        tables = dict(cursor.get("tables") or {})
        tables.update(_data_tables(batch.schema_versions))
        batch.cursor["tables"] = tables
        if self.footers and loads:
            counted = {c.load_id for c in batch.table_counts}
            wanted = {k: v for k, v in schema_of.items() if k not in counted and k not in uploads}
            batch.table_counts += self._footer_counts(dataset, base, wanted, tables, meter, batch)
        batch.stats.update(meter.counts)
        return batch

    @contextlib.contextmanager
    def _reading(self, base: str) -> Iterator[None]:
        """A dataset's reads: what the bucket refuses becomes one line naming the dataset and why."""
        try:
            yield
        except SourceError:
            raise
        except Exception as ex:
            raise SourceError(self.url(base), describe_bucket_error(ex, self.name)) from None

    def _start(self, prefix: str, positions: dict[str, Any]) -> str:
        """The name a prefix's unread files sort after: its newest name read, less the lookback."""
        last = (positions.get(prefix) or {}).get("last", "")
        return f"{prefix}__{_number(last) - self.lookback_s:.7f}" if last else ""

    def _walk(self, folder: str, positions: dict[str, Any], meter: Meter, first: Page | None) -> list[str]:
        """Names of the `<prefix>__<rest>.jsonl` files in `folder` after their prefix's position.

        Pages follow in key order; a page that ends before its last prefix's position is followed
        by a page starting at that position, so keys read before are listed again only up to a page.
        """
        page = first if first is not None else self.bucket.page(folder, "", meter)
        names = []
        bounds: dict[str, tuple[str, set[str]]] = {}  # prefix -> (start, names read within the lookback)
        while True:
            entries, i = page.entries, 0
            while i < len(entries):
                name = entries[i].name
                prefix, separator, _ = name.partition("__")
                if not separator or not name.endswith(".jsonl"):
                    i += 1
                    continue
                if prefix not in bounds:
                    recent = set((positions.get(prefix) or {}).get("recent") or [])
                    bounds[prefix] = (self._start(prefix, positions), recent)
                start, recent = bounds[prefix]
                if name <= start:  # every name up to the position shares the prefix (names sort): skip them at once
                    i = bisect.bisect_right(entries, start, lo=i + 1, key=by_name)
                    continue
                if _rest(name, prefix) not in recent:
                    names.append(name)
                i += 1
            if page.complete or not page.entries:
                return names
            last = page.entries[-1].name
            page = self.bucket.page(folder, max(last, self._start(last.partition("__")[0], positions)), meter)

    def _read_new(
        self,
        folder: str,
        positions: dict[str, Any],
        meter: Meter,
        batch: DatasetBatch,
        first: Page | None = None,
    ) -> list[dict[str, Any]]:
        """Read the files of `folder` not read before; move each prefix's position.

        A position is the newest name read and the names read within the lookback before it: files
        that arrive late with an older load id (a retried package) are still found, and a file that
        could not be read stays ahead of the position, so it is read again next time.
        """
        todo = [(name.partition("__")[0], name) for name in self._walk(folder, positions, meter, first)]
        results = self._parallel(lambda item: self._try_read(f"{folder}/{item[1]}", meter), todo)
        good: dict[str, list[str]] = defaultdict(list)
        bad: dict[str, list[str]] = defaultdict(list)
        rows = []
        for (prefix, name), (row, problem) in zip(todo, results, strict=True):
            if problem:
                batch.problems.append((problem.what, problem.reason))
                bad[prefix].append(_rest(name, prefix))
            else:
                rows.append(row)
                good[prefix].append(_rest(name, prefix))
        for prefix in set(good) | set(bad):
            position = positions.get(prefix) or {}
            last = position.get("last", "")
            blocked = min(bad[prefix]) if bad[prefix] else None
            last = max([last] + [r for r in good[prefix] if blocked is None or r < blocked])
            horizon = _number(last) - self.lookback_s
            recent = set(position.get("recent") or []) | set(good[prefix])
            positions[prefix] = {"last": last, "recent": sorted(r for r in recent if _number(r) >= horizon)}
        return rows

    def _try_read(self, path: str, meter: Meter) -> tuple[dict[str, Any] | None, SourceError | None]:
        try:
            raw = self.bucket.read(path, meter)
        except FileNotFoundError:
            return None, SourceError(self.url(path), "file disappeared while reading")
        try:
            value = json.loads(raw.decode("utf-8").strip().splitlines()[0])
        except (ValueError, IndexError, UnicodeDecodeError):
            return None, SourceError(self.url(path), "not valid JSON (truncated or corrupt file)")
        if not isinstance(value, dict):
            return None, SourceError(self.url(path), "not a JSON object")
        return value, None

    def _table_files(
        self, base: str, layout: str, table: str, schema_of: dict[str, str], meter: Meter, suffix: str = ""
    ) -> dict[str, list[Entry]]:
        """Data files of `table` written by the loads in `schema_of` (load id -> schema), by load id; only
        those whose names end with `suffix`, when given."""
        pattern = layout_pattern(layout, table)
        first, newest = min(schema_of), max(schema_of)
        found: dict[str, list[Entry]] = defaultdict(list)
        for prefix, incremental in {layout_prefix(layout, table, s) for s in set(schema_of.values())}:
            start = prefix + first if incremental else ""
            # every file of the wanted loads starts with the prefix their first and last load id share
            narrowed = narrowing_prefix(prefix + first, prefix + newest) if incremental else prefix
            for entry in self.bucket.find_after(base, narrowed, start, meter):
                if not entry.name.endswith(suffix):
                    continue
                match = pattern.search(entry.name)
                if match and match.group("load_id") in schema_of:
                    found[match.group("load_id")].append(entry)
        return found

    def _read_traces(
        self, base: str, key: str, schema_of: dict[str, str], meter: Meter
    ) -> tuple[dict[str, list[dict[str, Any]]], set[str]]:
        """Rows of the `_trace*` tables uploaded by the new loads, and the ids of those uploads."""
        layout = self.layouts.get(key, self.layout)
        roots = self._table_files(base, layout, TRACE_ROOT, schema_of, meter)
        if not roots:
            return {}, set()
        uploads = {load_id: schema_of[load_id] for load_id in roots}
        tables: dict[str, list[dict[str, Any]]] = {}
        separator = "__"  # the nesting separator of the dataset's naming convention, seen in the root's columns
        for table in TRACE_TABLES:
            named = table.replace("__", separator)
            files = roots if table == TRACE_ROOT else self._table_files(base, layout, named, uploads, meter)
            paths = [f"{base}/{e.name}" for entries in files.values() for e in entries]
            for rows in self._parallel(lambda p: self._read_rows(p, meter), paths):
                tables.setdefault(table, []).extend(canonical_rows(rows))
                if table == TRACE_ROOT:
                    separator = next((s for s in NESTING_SEPARATORS for row in rows for c in row if s in c), separator)
        return tables, set(uploads)

    def _read_rows(self, path: str, meter: Meter) -> list[dict[str, Any]]:
        """Rows of a data file of a `_trace` table: jsonl (gzip or not) or parquet."""
        raw = self.bucket.read(path, meter)
        if path.endswith(".parquet"):
            return lazy("pyarrow.parquet").read_table(io.BytesIO(raw)).to_pylist()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]

    def _footer_counts(
        self,
        dataset: Dataset,
        base: str,
        schema_of: dict[str, str],
        tables: dict[str, list[str]],
        meter: Meter,
        batch: DatasetBatch,
    ) -> list[TableCountRecord]:
        """Rows per table of loads without a trace, from the footers of their parquet files."""
        if not schema_of:
            return []
        layout = self.layouts.get(dataset.key, self.layout)
        files: list[tuple[str, str, Entry]] = []  # (load id, table, file)
        for table in sorted({t for s in set(schema_of.values()) for t in tables.get(s, [])}):
            for load_id, entries in self._table_files(base, layout, table, schema_of, meter, ".parquet").items():
                files += [(load_id, table, e) for e in entries]

        def count(item: tuple[str, str, Entry]) -> int | None:
            path = f"{base}/{item[2].name}"
            try:
                size = self.bucket.size(path, item[2])
                return read_num_rows(size, lambda s, e: self.bucket.read_range(path, s, e, meter))
            except FooterError as ex:
                batch.problems.append((self.url(path), str(ex)))
                return None

        totals: dict[tuple[str, str], int] = defaultdict(int)
        for (load_id, table, _), rows in zip(files, self._parallel(count, files), strict=True):
            if rows is not None:
                totals[(load_id, table)] += rows
        return [
            TableCountRecord(
                load_id, schema_of[load_id], table, rows, VIA_FILE_FOOTER, dataset.location, dataset.dataset_name
            )
            for (load_id, table), rows in sorted(totals.items())
        ]


def _traced(batch: DatasetBatch, cursor: dict[str, Any], every_version_read: bool) -> bool | None:
    """Whether a schema of the dataset has a `_trace` table, so that new loads may be trace uploads; None when
    not known (a cursor from before this was kept, until the dataset's next new schema version)."""
    if cursor.get(TRACED) or any(c.table_name == TRACE_ROOT for v in batch.schema_versions for c in v.columns):
        return True
    if TRACED in cursor or every_version_read:
        return False
    return None


def _data_tables(versions: list[SchemaVersionRecord]) -> dict[str, list[str]]:
    """Data tables (dlt's own left out) of the newest version of each schema among `versions`."""
    newest: dict[str, SchemaVersionRecord] = {}
    for v in versions:
        if v.schema_name not in newest or (v.version or 0) > (newest[v.schema_name].version or 0):
            newest[v.schema_name] = v
    return {
        name: sorted({c.table_name for c in v.columns if not is_dlt_table(c.table_name)}) for name, v in newest.items()
    }
