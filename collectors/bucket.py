"""Listing and reading a bucket with as few requests as possible, counting every one.

S3 (and S3-compatible stores) list keys in order and can start after a given key, so a collect
lists only what is new (`ListObjectsV2` with `StartAfter`) and finds a folder's name prefixes in
one call (`Delimiter="__"`). Other fsspec filesystems list each folder once per collect and filter.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from collectors.meter import Meter

S3_PROTOCOLS = ("s3", "s3a")
PAGE_SIZE = 1000


@dataclass(frozen=True, order=True)
class Entry:
    """A file under a folder: its path relative to that folder, and its size in bytes."""

    name: str
    size: int


class Bucket:
    """An fsspec filesystem rooted at a bucket URL's path, with listings that skip what was seen."""

    def __init__(self, fs: Any, root: str):
        self.fs = fs
        self.root = root.rstrip("/")
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        self.is_s3 = protocol in S3_PROTOCOLS
        self._listings: dict[str, list[Entry]] = {}  # generic filesystems: folder -> its files
        self._lock = threading.Lock()

    def path(self, *parts: str) -> str:
        """A path under the root."""
        return "/".join([self.root, *[p.strip("/") for p in parts if p]])

    # --- listing -------------------------------------------------------------------------
    def folders(self, folder: str, meter: Meter) -> list[str]:
        """Names of the folders directly in `folder`; FileNotFoundError when the bucket is missing."""
        if self.is_s3:
            _, prefixes = self._s3_list(folder, "", "", "/", meter)
            return sorted(p.rstrip("/") for p in prefixes)
        meter.add(list_calls=1)
        return sorted(
            str(e["name"]).rstrip("/").rsplit("/", 1)[-1]
            for e in self.fs.ls(folder, detail=True, refresh=True)
            if e.get("type") == "directory"
        )

    def name_prefixes(self, folder: str, meter: Meter, separator: str = "__") -> list[str]:
        """The distinct parts before `separator` of the file names in `folder` (dlt's schema or pipeline names)."""
        if self.is_s3:
            _, prefixes = self._s3_list(folder, "", "", separator, meter)
            return sorted(p[: -len(separator)] for p in prefixes)
        names = {e.name.split(separator, 1)[0] for e in self._generic_files(folder, meter) if separator in e.name}
        return sorted(names)

    def files_after(self, folder: str, prefix: str, start_after: str, meter: Meter) -> list[Entry]:
        """Files directly in `folder` whose names start with `prefix` and sort after `start_after`."""
        if self.is_s3:
            entries, _ = self._s3_list(folder, prefix, start_after, "/", meter)
            return entries
        return [
            e
            for e in self._generic_files(folder, meter)
            if "/" not in e.name and e.name.startswith(prefix) and e.name > start_after
        ]

    def find_after(self, folder: str, prefix: str, start_after: str, meter: Meter) -> list[Entry]:
        """Files anywhere under `folder` whose relative paths start with `prefix` and sort after `start_after`."""
        if self.is_s3:
            entries, _ = self._s3_list(folder, prefix, start_after, "", meter)
            return entries
        meter.add(list_calls=1)
        base = f"{folder.rstrip('/')}/"
        search = base + prefix.rsplit("/", 1)[0] if "/" in prefix else folder
        try:
            found = self.fs.find(search, detail=True)
        except FileNotFoundError:
            return []
        entries = [Entry(path[len(base) :], int(info.get("size") or 0)) for path, info in found.items()]
        return sorted(e for e in entries if e.name.startswith(prefix) and e.name > start_after)

    def _s3_list(
        self, folder: str, prefix: str, start_after: str, delimiter: str, meter: Meter
    ) -> tuple[list[Entry], list[str]]:
        bucket, _, key = folder.strip("/").partition("/")
        base = f"{key}/" if key else ""
        params: dict[str, Any] = {"Bucket": bucket, "Prefix": base + prefix, "MaxKeys": PAGE_SIZE}
        if delimiter:
            params["Delimiter"] = delimiter
        if start_after:
            params["StartAfter"] = base + start_after
        entries: list[Entry] = []
        prefixes: list[str] = []
        while True:
            meter.add(list_calls=1)
            page = self.fs.call_s3("list_objects_v2", **params)
            entries += [Entry(o["Key"][len(base) :], int(o.get("Size") or 0)) for o in page.get("Contents", [])]
            prefixes += [p["Prefix"][len(base) :] for p in page.get("CommonPrefixes", [])]
            if not page.get("IsTruncated"):
                return entries, prefixes
            params.pop("StartAfter", None)
            params["ContinuationToken"] = page["NextContinuationToken"]

    def _generic_files(self, folder: str, meter: Meter) -> list[Entry]:
        with self._lock:
            if folder not in self._listings:
                meter.add(list_calls=1)
                try:
                    listed = self.fs.ls(folder, detail=True, refresh=True)
                except FileNotFoundError:
                    listed = []
                self._listings[folder] = sorted(
                    Entry(str(e["name"]).rstrip("/").rsplit("/", 1)[-1], int(e.get("size") or 0))
                    for e in listed
                    if e.get("type") != "directory"
                )
            return self._listings[folder]

    # --- reading -------------------------------------------------------------------------
    def read(self, path: str, meter: Meter) -> bytes:
        """A whole (small) file in one request."""
        # s3fs would first ask for the size (a HEAD) to read big files in parallel chunks
        data = self.fs.cat_file(path, max_concurrency=1) if self.is_s3 else self.fs.cat_file(path)
        meter.add(get_calls=1, bytes_read=len(data))
        return data

    def read_range(self, path: str, start: int, end: int, meter: Meter) -> bytes:
        """Bytes `start`..`end` of a file in one ranged request."""
        data = self.fs.cat_file(path, start=start, end=end)
        meter.add(get_calls=1, bytes_read=len(data))
        return data
