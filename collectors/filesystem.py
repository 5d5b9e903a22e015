"""`kind = "filesystem"`: a dlt filesystem destination (`file://`, `s3://`, `gs://`, `az://`...).

Every folder under `bucket_url` holding `_dlt_loads/` is a dataset. dlt writes its own tables as
one small JSON file per row, named so that listing replaces reading:
`_dlt_loads/<schema>__<load_id>.jsonl`, `_dlt_version/<schema>__<timestamp>__<hash>.jsonl`,
`_dlt_pipeline_state/<pipeline>__<load_id>__<hash>.jsonl`, whatever the data `layout`.
Files are read through fsspec with dlt's own filesystem configuration (and credentials).
"""

from __future__ import annotations

import gzip
import io
import json
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from dlt.common.configuration import resolve_configuration
from dlt.common.storages.configuration import FilesystemConfiguration
from dlt.common.storages.fsspec_filesystem import fsspec_from_config

from collectors.base import Collector, Dataset, SourceError
from collectors.destination import dataset_batch
from collectors.traces import TRACE_TABLES
from glasspane.dlt_meta import filesystem_location
from glasspane.records import DatasetBatch

DEFAULT_LAYOUT = "{table_name}/{load_id}.{file_id}.{ext}"
READ_THREADS = 8
_LOAD_ID = r"\d+(?:\.\d+)?"


def _name(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _split_key(name: str) -> tuple[str, str]:
    """`<prefix>__<rest>` of a dlt metadata file name (a schema or pipeline name, then the rest)."""
    stem = name.split(".jsonl")[0]
    prefix, _, rest = stem.partition("__")
    return prefix, rest


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


def layout_glob(layout: str, table: str) -> str:
    """A glob for the data files of `table` under a dlt layout."""
    return re.sub(r"\{(\w+)\}", lambda m: table if m.group(1) == "table_name" else "*", layout)


class FilesystemCollector(Collector):
    """Reads dlt's metadata files from every dataset under a bucket URL."""

    kind = "filesystem"
    required_keys = ("bucket_url",)
    optional_keys = ("datasets", "layout", "layouts")

    def __init__(self, config):
        super().__init__(config)
        self.bucket_url = str(self.option("bucket_url"))
        self.layout = str(self.option("layout") or DEFAULT_LAYOUT)
        self.layouts = dict(self.option("layouts") or {})  # dataset name -> its own layout
        self.fs: Any = None
        self.root = ""

    @property
    def location(self) -> str:
        return filesystem_location(self.bucket_url)

    def open(self) -> None:
        try:
            config = resolve_configuration(
                FilesystemConfiguration(bucket_url=self.bucket_url), sections=("sources", self.name)
            )
            self.fs, self.root = fsspec_from_config(config)
        except Exception as ex:
            raise SourceError(self.location, f"cannot open bucket ({type(ex).__name__}: {ex})") from None
        self.root = self.root.rstrip("/")

    def url(self, path: str) -> str:
        """A path as the user would write it, for messages."""
        relative = path[len(self.root) :].lstrip("/") if path.startswith(self.root) else path
        return f"{self.location}/{relative}" if relative else self.location

    def _ls(self, path: str, stats: dict[str, int]) -> list[str]:
        stats["list_calls"] = stats.get("list_calls", 0) + 1
        try:
            return sorted(self.fs.ls(path, detail=False, refresh=True))
        except FileNotFoundError:
            return []

    def discover(self) -> list[Dataset]:
        stats: dict[str, int] = {}
        try:
            if not self.fs.exists(self.root):
                raise SourceError(self.location, "bucket or folder not found")
            children = [p for p in self._ls(self.root, stats) if self.fs.isdir(p)]
            wanted = set(self.option("datasets") or [])
            return [
                Dataset(key=_name(child), dataset_name=_name(child), location=self.location)
                for child in children
                if (not wanted or _name(child) in wanted) and self.fs.isdir(f"{child}/_dlt_loads")
            ]
        except SourceError:
            raise
        except Exception as ex:
            raise SourceError(self.location, f"cannot list bucket ({type(ex).__name__}: {ex})") from None

    def _read_json(self, path: str) -> dict[str, Any]:
        try:
            with self.fs.open(path, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            raise SourceError(self.url(path), "file disappeared while reading") from None
        try:
            value = json.loads(raw.decode("utf-8").strip().splitlines()[0])
        except (ValueError, IndexError, UnicodeDecodeError):
            raise SourceError(self.url(path), "not valid JSON (truncated or corrupt file)") from None
        if not isinstance(value, dict):
            raise SourceError(self.url(path), "not a JSON object")
        return value

    def _read_rows(self, path: str) -> list[dict[str, Any]]:
        """Rows of a data file of a `_trace` table: jsonl (gzip or not) or parquet."""
        with self.fs.open(path, "rb") as handle:
            raw = handle.read()
        if path.endswith(".parquet"):
            import pyarrow.parquet as pq

            return pq.read_table(io.BytesIO(raw)).to_pylist()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]

    def _read_new(
        self, folder: str, cursor: dict[str, str], batch: DatasetBatch, key_of=_split_key
    ) -> list[dict[str, Any]]:
        """Read the files in `folder` newer than the per-prefix cursor; advance it past good files only."""
        names = [_name(p) for p in self._ls(folder, batch.stats)]
        new = [n for n in names if n.endswith(".jsonl") and key_of(n)[1] > cursor.get(key_of(n)[0], "")]
        with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
            results = list(pool.map(lambda n: self._try_read(f"{folder}/{n}"), new))
        batch.stats["get_calls"] = batch.stats.get("get_calls", 0) + len(new)
        rows, blocked = [], set()
        for name, (row, problem) in zip(new, results, strict=False):
            prefix, rest = key_of(name)
            if problem:
                batch.problems.append((problem.what, problem.reason))
                blocked.add(prefix)
                continue
            rows.append(row)
            if prefix not in blocked:
                cursor[prefix] = max(cursor.get(prefix, ""), rest)
        return rows

    def _try_read(self, path: str) -> tuple[dict[str, Any] | None, SourceError | None]:
        try:
            return self._read_json(path), None
        except SourceError as ex:
            return None, ex

    def collect(self, dataset: Dataset, cursor: dict[str, Any]) -> DatasetBatch:
        base = f"{self.root}/{dataset.key}"
        positions = {k: dict(cursor.get(k) or {}) for k in ("loads", "versions", "states")}
        scratch = DatasetBatch()
        try:
            loads = self._read_new(f"{base}/_dlt_loads", positions["loads"], scratch)
            versions = self._read_new(f"{base}/_dlt_version", positions["versions"], scratch)
            states = self._read_new(f"{base}/_dlt_pipeline_state", positions["states"], scratch)
            trace_tables, trace_position = self._read_traces(base, cursor.get("trace_load_id", ""), scratch)
        except SourceError:
            raise
        except Exception as ex:
            raise SourceError(self.url(base), f"cannot read ({type(ex).__name__}: {ex})") from None
        batch = dataset_batch(dataset, "filesystem", cursor, loads, versions, states, trace_tables)
        batch.problems += scratch.problems
        batch.stats.update(scratch.stats)
        batch.cursor.update(positions)
        batch.cursor["trace_load_id"] = trace_position
        return batch

    def _read_traces(self, base: str, since: str, batch: DatasetBatch) -> tuple[dict[str, list[dict[str, Any]]], str]:
        """Rows of the `_trace*` tables uploaded after load id `since`, found through the layout."""
        root_files = self._layout_files(base, "_trace", batch)
        new_ids = sorted({load_id for load_id, _ in root_files if load_id > since})
        if not new_ids:
            return {}, since
        tables: dict[str, list[dict[str, Any]]] = {}
        for table in TRACE_TABLES:
            files = root_files if table == "_trace" else self._layout_files(base, table, batch)
            wanted = [path for load_id, path in files if load_id in new_ids]
            with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
                for rows in pool.map(self._read_rows, wanted):
                    tables.setdefault(table, []).extend(rows)
            batch.stats["get_calls"] = batch.stats.get("get_calls", 0) + len(wanted)
        return tables, new_ids[-1]

    def _layout_files(self, base: str, table: str, batch: DatasetBatch) -> list[tuple[str, str]]:
        """(load id, path) of every data file of `table` in a dataset."""
        layout = self.layouts.get(_name(base), self.layout)
        pattern = layout_pattern(layout, table)
        batch.stats["list_calls"] = batch.stats.get("list_calls", 0) + 1
        found = []
        for path in sorted(self.fs.glob(f"{base}/{layout_glob(layout, table)}")):
            match = pattern.search(path[len(base) + 1 :])
            if match:
                found.append((match.group("load_id"), path))
        return found
