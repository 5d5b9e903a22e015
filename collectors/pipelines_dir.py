"""`kind = "pipelines_dir"`: dlt pipeline working folders on this machine (`~/.dlt/pipelines`).

Per pipeline: `state.json`, `trace.pickle` (the last run, failed or not), the load packages dlt
keeps under `load/loaded/` (and pending ones under `load/normalized/`), and `schemas/`.
Failed runs leave no row in a destination: this is where they are seen.

Every collect also lists the packages a folder keeps (loaded, normalized and extracted) and the
tables their job files are for, by file name: those files copy the loaded rows, which a deletion
plan must name. No data file is read.

dlt's JSON files are read as plain JSON, as dlt reads a package's schema: the few typed values read
(datetimes) keep dlt's marker, which `to_datetime` reads. dlt itself (1 s to import) is loaded only
to read a trace that changed.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path
from typing import Any

from collectors.base import Collector, Dataset, SourceError
from collectors.traces import TRACE_FILE_NAME, UnsafeTrace, load_trace_safely, records_from_trace, trace_as_dict
from glasspane.dlt_meta import is_dlt_table, job_file_table, load_id_to_datetime, schema_columns, to_datetime
from glasspane.records import (
    COMPLETED,
    PENDING,
    VIA_LOAD_PACKAGE,
    VIA_TRACE,
    WORKING_FOLDER_SCHEME,
    WORKING_FOLDERS_KIND,
    DatasetBatch,
    LoadPackageRecord,
    RunRecord,
    SchemaVersionRecord,
    StepRecord,
    run_key,
)

# Where a working folder keeps packages, by state; and the folders of a package that hold job files.
PACKAGE_FOLDERS = (
    ("loaded", ("load", "loaded")),
    ("normalized", ("load", "normalized")),
    ("extracted", ("normalize", "extracted")),
)
JOB_FOLDERS = ("new_jobs", "started_jobs", "completed_jobs", "failed_jobs")
# cursor key: the schema versions written for a folder (where, and their hashes, newest last). Each new package
# carries its schema again: turning it into columns and text for the store, which holds it, took half the
# reading of a folder with a new load, and its columns made a collect of 100 such folders two writes.
SENT_VERSIONS = "versions_sent"
SENT_HASHES_KEPT = 64  # an older version seen again is sent again, and the store keeps what it holds


def _json_file(path: Path) -> dict[str, Any]:
    """A dlt JSON file, or a SourceError naming the file."""
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        raise SourceError(str(path), "file not found") from None
    except Exception as ex:
        raise SourceError(str(path), f"not valid JSON ({type(ex).__name__})") from None
    if not isinstance(value, dict):
        raise SourceError(str(path), "not a JSON object")
    return value


def _load_id_key(load_id: str) -> float:
    try:
        return float(load_id)
    except ValueError:
        return -1.0


class PipelinesDirCollector(Collector):
    """Reads every pipeline working folder under a dlt pipelines folder."""

    kind = WORKING_FOLDERS_KIND
    required_keys = ("path",)
    optional_keys = ("pipelines",)
    # one working folder at a time: its files are local, and threads only contend for the interpreter
    # (200 working folders of 10 packages read in 4.1 s one at a time, 6.5 s four at a time)
    max_parallel = 1

    def __init__(self, config):
        super().__init__(config)
        self.path = Path(str(self.option("path"))).expanduser().resolve()

    @property
    def location(self) -> str:
        return f"{WORKING_FOLDER_SCHEME}{socket.gethostname()}{self.path}"

    def discover(self) -> list[Dataset]:
        if not self.path.is_dir():
            raise SourceError(str(self.path), "pipelines folder not found")
        wanted = set(self.option("pipelines") or [])
        found = []
        for folder in sorted(p for p in self.path.iterdir() if p.is_dir()):
            if wanted and folder.name not in wanted:
                continue
            if not any((folder / marker).exists() for marker in ("state.json", TRACE_FILE_NAME, "schemas")):
                continue
            dataset_name = None
            with contextlib.suppress(SourceError):  # reported by collect, which reads it again
                dataset_name = _json_file(folder / "state.json").get("dataset_name")
            found.append(Dataset(key=folder.name, dataset_name=dataset_name, location=self.location))
        return found

    def collect(self, dataset: Dataset, cursor: dict[str, Any]) -> DatasetBatch:
        folder = self.path / dataset.key
        if not folder.is_dir():
            raise SourceError(str(folder), "pipeline folder not found")
        batch = DatasetBatch(cursor=dict(cursor))
        state: dict[str, Any] = {}
        try:
            state = _json_file(folder / "state.json")
        except SourceError as ex:
            if (folder / "state.json").exists():
                batch.problems.append((ex.what, ex.reason))
        pipeline_name = state.get("pipeline_name") or dataset.key
        dataset_name = state.get("dataset_name") or pipeline_name
        default_schema = state.get("default_schema_name") or pipeline_name
        batch.destination_type = state.get("destination_type")
        # where the data lives: the destination an earlier trace named, else this working folder
        known = batch.cursor.get("location") or f"{self.location}/{dataset.key}"

        trace_records = self._read_trace(folder, batch, known, default_schema, dataset_name)
        if trace_records and trace_records.location:
            batch.cursor["location"] = trace_records.location
        location = batch.cursor.get("location") or known
        if trace_records:
            batch.runs += trace_records.runs
            batch.table_counts += trace_records.table_counts
            batch.steps += trace_records.steps

        common = dict(
            location=location,
            pipeline_name=pipeline_name,
            dataset_name=dataset_name,
            destination_type=batch.destination_type,
        )
        written = batch.cursor.get(SENT_VERSIONS) or {}
        where = f"{location}|{dataset_name}"  # a version is stored under both: elsewhere, it is new
        sent = list(written.get("hashes") or []) if written.get("at") == where else []
        sent_hashes = set(sent)
        self._read_packages(folder, batch, common, sent_hashes)
        batch.load_packages = _kept_packages(folder, location, pipeline_name, dataset_name)
        self._read_schemas(folder, batch, location, dataset_name, sent_hashes)
        sent += [v.version_hash for v in batch.schema_versions if v.version_hash not in sent]
        batch.cursor[SENT_VERSIONS] = {"at": where, "hashes": sent[-SENT_HASHES_KEPT:]}
        return batch

    def _read_trace(self, folder: Path, batch: DatasetBatch, fallback: str, schema: str, dataset_name: str):
        path = folder / TRACE_FILE_NAME
        if not path.exists():
            return None
        stamp = path.stat().st_mtime_ns
        if batch.cursor.get("trace_mtime") == stamp:
            return None
        try:
            trace = load_trace_safely(path)
            records = records_from_trace(trace_as_dict(trace), VIA_TRACE, fallback, schema, dataset_name)
        except UnsafeTrace:
            batch.problems.append((str(path), "unsafe trace.pickle, not read"))
            return None
        except Exception as ex:
            batch.problems.append((str(path), f"unreadable trace ({type(ex).__name__})"))
            return None
        batch.cursor["trace_mtime"] = stamp
        batch.stats["traces"] = batch.stats.get("traces", 0) + 1
        return records

    def _read_packages(self, folder: Path, batch: DatasetBatch, common: dict[str, Any], sent: set[str]) -> None:
        loaded = folder / "load" / "loaded"
        last = _load_id_key(batch.cursor.get("last_load_id", "0"))
        new = sorted((p for p in _subdirs(loaded) if _load_id_key(p.name) > last), key=lambda p: _load_id_key(p.name))
        advancing = True
        for package in new:
            ok = self._read_package(package, COMPLETED, batch, common, sent)
            advancing = advancing and ok
            if advancing:
                batch.cursor["last_load_id"] = package.name
        for package in _subdirs(folder / "load" / "normalized"):
            self._read_package(package, PENDING, batch, common, sent)

    def _read_package(
        self, package: Path, status: str, batch: DatasetBatch, common: dict[str, Any], sent: set[str]
    ) -> bool:
        load_id = package.name
        try:
            state = _json_file(package / "load_package_state.json")
            schema = _json_file(package / "schema.json")
        except SourceError as ex:
            batch.problems.append((ex.what, ex.reason))
            return False
        metrics = list((state.get("load_metrics") or {}).values())
        tables = sorted({m.get("table_name") for m in metrics if m.get("table_name")})
        created = to_datetime(state.get("created_at")) or load_id_to_datetime(load_id)
        finished = max((to_datetime(m.get("finished_at")) for m in metrics if m.get("finished_at")), default=None)
        schema_name = schema.get("name")
        key = run_key(schema_name, load_id)
        batch.runs.append(
            RunRecord(
                run_key=key,
                via=VIA_LOAD_PACKAGE,
                status=status,
                load_id=load_id,
                schema_name=schema_name,
                started_at=created,
                finished_at=finished if status == COMPLETED else None,
                is_trace_upload=bool(tables)
                and all(is_dlt_table(t) for t in tables)
                and any(t.startswith("_trace") for t in tables),
                **common,
            )
        )
        started = min((to_datetime(m.get("started_at")) for m in metrics if m.get("started_at")), default=None)
        if started and finished:
            batch.steps.append(StepRecord(key, "load", started, finished))
        if _new_version(batch, schema_name, schema.get("version_hash"), sent):  # packages mostly repeat the schema
            batch.schema_versions.append(_schema_version(schema, common["location"], common["dataset_name"], created))
        batch.stats["packages"] = batch.stats.get("packages", 0) + 1
        return True

    def _read_schemas(
        self, folder: Path, batch: DatasetBatch, location: str, dataset_name: str, sent: set[str]
    ) -> None:
        stamps = dict(batch.cursor.get("schema_mtimes") or {})
        for path in sorted((folder / "schemas").glob("*.schema.json")):
            stamp = path.stat().st_mtime_ns
            if stamps.get(path.name) == stamp:
                continue
            try:
                schema = json.loads(path.read_text())
                if not isinstance(schema, dict) or "name" not in schema:
                    raise ValueError("not a dlt schema")
            except (ValueError, OSError) as ex:
                reason = "not valid JSON" if isinstance(ex, json.JSONDecodeError) else str(ex)
                batch.problems.append((str(path), reason))
                continue
            if schema.get("version_hash") not in sent:
                inserted = to_datetime(path.stat().st_mtime)
                batch.schema_versions.append(_schema_version(schema, location, dataset_name, inserted))
            stamps[path.name] = stamp
        batch.cursor["schema_mtimes"] = stamps


def _kept_packages(folder: Path, location: str, pipeline_name: str, dataset_name: str) -> list[LoadPackageRecord]:
    """Every package the working folder keeps, with the tables its job files are for (from their names)."""
    packages = []
    for state, parts in PACKAGE_FOLDERS:
        for package in sorted(_subdirs(folder.joinpath(*parts)), key=lambda p: _load_id_key(p.name)):
            tables = sorted({t for jobs in JOB_FOLDERS for t in map(job_file_table, _names(package / jobs)) if t})
            packages.append(
                LoadPackageRecord(location, pipeline_name, dataset_name, package.name, state, str(package), tables)
            )
    return packages


def _names(folder: Path) -> list[str]:
    """The names in a folder; none when it does not exist."""
    try:
        return os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _subdirs(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_dir()] if folder.is_dir() else []


def _new_version(batch: DatasetBatch, schema_name: str | None, version_hash: str | None, sent: set[str]) -> bool:
    """True for a schema version neither this batch holds nor an earlier collect wrote (`sent`)."""
    return (
        bool(version_hash)
        and version_hash not in sent
        and not any(
            v.schema_name == (schema_name or "") and v.version_hash == version_hash for v in batch.schema_versions
        )
    )


def _schema_version(schema: dict[str, Any], location: str, dataset_name: str, inserted_at) -> SchemaVersionRecord:
    return SchemaVersionRecord(
        location=location,
        dataset_name=dataset_name,
        schema_name=schema.get("name") or "",
        version_hash=schema.get("version_hash") or "",
        version=schema.get("version"),
        engine_version=schema.get("engine_version"),
        inserted_at=inserted_at,
        schema=json.dumps(schema, default=str),
        columns=schema_columns(schema),
    )
