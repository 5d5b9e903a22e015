"""dlt pipeline traces → run records. One implementation for `trace.pickle` and for `_trace` tables.

Both arrive in the shape of dlt's `PipelineTrace.asdict()`: a pickle through dlt itself, a loaded
trace by re-nesting the `_trace*` tables dlt normalised it into (`assemble_traces`).
"""

from __future__ import annotations

import json
import pickle
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glasspane.dlt_meta import (
    destination_location,
    environment_label,
    execution_details,
    is_dlt_table,
    redact,
    to_datetime,
)
from glasspane.records import (
    COMPLETED,
    FAILED,
    PENDING,
    RunRecord,
    StepRecord,
    TableCountRecord,
    run_key,
)

TRACE_ROOT = "_trace"
# The _trace tables a collector needs; the others (config values, job lists...) are not read.
TRACE_TABLES = (
    "_trace",
    "_trace__execution_context__exec_info",
    "_trace__steps",
    "_trace__steps__step_info__loads_ids",
    "_trace__steps__step_info__load_packages",
    "_trace__steps__normalize_info__table_metrics",
    "_trace__steps__exception_traces",
)
# columns whose names say they could hold secrets, or data values (the attributes of an exception)
_NEVER_READ = ("credentials", "exception_attrs")
# dlt's exceptions about data that does not fit the schema: beneath them is only the failed
# conversion of the value itself (`ValueError: invalid literal for int(): '...'`, or the bare value)
_DATA_EXCEPTIONS = ("dlt.common.schema.exceptions.", "dlt.extract.incremental.exceptions.")


TRACE_FILE_NAME = "trace.pickle"  # dlt.pipeline.trace.TRACE_FILE_NAME: a working folder's last run

# What dlt's trace.pickle is made of (dlt 1.31: successful and failed extract, normalize and load steps).
# Nothing else is ever looked up while reading one, so a pickle cannot call anything outside this list.
_TRACE_CLASSES = {
    "datetime": ("datetime", "timedelta", "timezone"),
    "pendulum.datetime": ("DateTime",),
    "pendulum.tz.timezone": ("Timezone", "FixedTimezone"),
    "dlt.pipeline.trace": ("PipelineTrace", "PipelineStepTrace", "SerializableResolvedValueTrace"),
    "dlt.common.pipeline": ("ExtractInfo", "NormalizeInfo", "LoadInfo"),
    "dlt.common.metrics": ("DataWriterMetrics", "DataWriterAndCustomMetrics", "LoadJobMetrics"),
    "dlt.common.storages.load_package": ("LoadPackageInfo", "LoadJobInfo", "ParsedLoadJobFileName"),
    "re": ("_compile",),  # the compiled hint patterns of a pickled schema
}
# dlt pickles a step's pipeline and schemas as their attributes; they are read back as plain attributes,
# never as a Pipeline or a Schema (whose methods touch files, destinations and code).


class UnsafeTrace(ValueError):
    """A trace.pickle that asks for anything but dlt's trace classes: it is not read."""


class _Attributes:
    """A pickled Pipeline, as the attributes it was pickled with."""

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, dict):
            self.__dict__.update(state)


class _SchemaAttributes(_Attributes):
    """A pickled Schema, as its attributes, with the two a load package's `asdict()` asks for."""

    @property
    def name(self) -> str | None:
        """The schema's name."""
        return self.__dict__.get("_schema_name")

    @property
    def version_hash(self) -> str | None:
        """The version hash the schema had when it was pickled."""
        return self.__dict__.get("_stored_version_hash")


_READ_AS_ATTRIBUTES = {
    ("dlt.pipeline.pipeline", "Pipeline"): _Attributes,
    ("dlt.common.schema.schema", "Schema"): _SchemaAttributes,
}


def _timezone_unpickle(owner: Any, name: str) -> Any:
    """`getattr` as zoneinfo pickles a timezone (`Timezone._unpickle`), and nothing else."""
    from pendulum.tz.timezone import FixedTimezone, Timezone

    if owner in (Timezone, FixedTimezone) and name == "_unpickle":
        return getattr(owner, name)
    raise UnsafeTrace(f"getattr of {name!r}")


class _TraceUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _READ_AS_ATTRIBUTES:
            return _READ_AS_ATTRIBUTES[(module, name)]
        if (module, name) == ("builtins", "getattr"):
            return _timezone_unpickle
        if name in _TRACE_CLASSES.get(module, ()):
            return super().find_class(module, name)
        raise UnsafeTrace(f"{module}.{name}")


def load_trace_safely(path: Path) -> Any:
    """dlt's `PipelineTrace` from a trace.pickle, read without running code: a pickle that names any
    other class or function raises UnsafeTrace before anything of it is called."""
    with open(path, "rb") as file:
        return _TraceUnpickler(file).load()


@dataclass
class TraceRecords:
    """Records read from one trace, and the destination it names (if it got that far)."""

    runs: list[RunRecord] = field(default_factory=list)
    table_counts: list[TableCountRecord] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    destination_type: str | None = None
    location: str | None = None
    dataset_name: str | None = None


def trace_as_dict(trace: Any) -> dict[str, Any]:
    """A `PipelineTrace` as dlt's `asdict()` shapes it, tolerating steps dlt cannot serialise.

    dlt 1.31's `asdict()` asserts one metrics entry per load package, which a load step that
    failed before loading anything (e.g. a schema update refused by the destination) does not
    have. Such steps keep what the collector needs: times, exception, load ids and destination.
    """
    try:
        return trace.asdict()
    except AssertionError:
        pass
    whole = trace._asdict()
    whole["steps"] = [_step_as_dict(step) for step in trace.steps if step.step != "run" or step.step_exception]
    return whole


def _step_as_dict(step: Any) -> dict[str, Any]:
    try:
        return step.asdict()
    except AssertionError:
        info = step.step_info
        packages = [
            {"load_id": p.load_id, "schema_name": p.schema_name, "state": p.state}
            for p in getattr(info, "load_packages", None) or []
        ]
        destination = {
            key: getattr(info, key, None)
            for key in ("destination_type", "destination_displayable_credentials", "dataset_name")
        }
        return {
            "span_id": step.span_id,
            "step": step.step,
            "started_at": step.started_at,
            "finished_at": step.finished_at,
            "step_exception": step.step_exception,
            "exception_traces": step.exception_traces,
            "step_info": {"loads_ids": list(getattr(info, "loads_ids", None) or []), "load_packages": packages},
            f"{step.step}_info": destination,
        }


NESTING_SEPARATORS = ("▶",)  # dlt's `direct` naming nests with ▶ where snake_case (and the others) use __


def canonical(name: str) -> str:
    """A table or column name as dlt's default snake_case naming writes it, under any naming convention:
    `_trace▶steps` (direct) → `_trace__steps`, `_DLT_LOADS` (sql_upper) → `_dlt_loads`."""
    for separator in NESTING_SEPARATORS:
        name = name.replace(separator, "__")
    return name.lower()


def by_canonical_name(names: Iterable[str]) -> dict[str, str]:
    """canonical name → the name a dataset really uses, so `_dlt_*` and `_trace*` tables are found under
    every naming convention."""
    return {canonical(name): name for name in names}


def canonical_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with their column names made canonical (`step_info▶loads_ids` → `step_info__loads_ids`)."""
    return [{canonical(column): value for column, value in row.items()} for row in rows]


def safe_columns(columns: list[str]) -> list[str]:
    """The columns of a `_trace` table worth reading: never ones that may carry credentials or data."""
    return [c for c in columns if not any(word in c for word in _NEVER_READ)]


def _root_cause(traces: list[dict[str, Any]]) -> dict[str, Any]:
    """The innermost exception of a chain (outermost first), or the first of dlt's data exceptions."""
    data = (t for t in traces if str(t.get("exception_type") or "").startswith(_DATA_EXCEPTIONS))
    return next(data, traces[-1])


def _error_of(step: dict[str, Any]) -> str | None:
    """The root cause of a failed step, type and message, with data values and credentials redacted."""
    traces = step.get("exception_traces") or []
    if traces:
        inner = _root_cause(traces)
        kind = str(inner.get("exception_type") or "Exception").rsplit(".", 1)[-1]
        return redact(f"{kind}: {inner.get('message') or ''}".strip())
    return redact(step.get("step_exception"))


@dataclass
class _Packages:
    """The load packages a trace's steps mention, in order, with their schema, state and steps."""

    load_ids: list[str] = field(default_factory=list)
    schema_of: dict[str, str | None] = field(default_factory=dict)
    loaded: set[str] = field(default_factory=set)
    steps_of: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def mention(self, load_id: Any, step_name: str) -> None:
        if load_id:
            if load_id not in self.load_ids:
                self.load_ids.append(str(load_id))
            self.steps_of[str(load_id)].add(step_name)


def records_from_trace(
    trace: dict[str, Any],
    via: str,
    fallback_location: str,
    default_schema: str | None = None,
    dataset_name: str | None = None,
) -> TraceRecords:
    """Runs (one per load package), row counts and step timings of one trace."""
    out = TraceRecords(dataset_name=dataset_name)
    steps = [s for s in trace.get("steps") or [] if isinstance(s, dict)]
    packages = _read_steps(steps, out)
    failed = [s for s in steps if s.get("step_exception")]
    failing = next((s for s in failed if s.get("step") != "run"), failed[0] if failed else None)
    error = _error_of(failing) if failing else None
    failed_step = failing.get("step") if failing else None
    counts = _row_counts(steps)
    tables_of: dict[str, list[str]] = defaultdict(list)
    for load_id, table in counts:
        tables_of[load_id].append(table)
    common = _run_fields(trace, out, via, fallback_location)
    for load_id in packages.load_ids:
        schema = packages.schema_of.get(load_id) or default_schema or trace.get("pipeline_name")
        key = run_key(schema, load_id)
        status = COMPLETED if load_id in packages.loaded else FAILED if failing else PENDING
        tables = tables_of.get(load_id, [])
        out.runs.append(
            RunRecord(
                run_key=key,
                status=status,
                load_id=load_id,
                schema_name=schema,
                error=error if status == FAILED else None,
                failed_step=failed_step if status == FAILED else None,
                is_trace_upload=bool(tables)
                and all(is_dlt_table(t) for t in tables)
                and any(t.startswith(TRACE_ROOT) for t in tables),
                **common,
            )
        )
        location = out.location or fallback_location
        out.table_counts += [
            TableCountRecord(load_id, schema or "", t, counts[(load_id, t)], via, location, out.dataset_name)
            for t in tables
        ]
        out.steps += [
            _step_record(key, step, failing)
            for step in steps
            if step.get("step") in packages.steps_of[load_id] and step.get("step") != "run"
        ]
    if failing and not packages.load_ids:
        key = run_key(None, None, trace.get("transaction_id"))
        schema = default_schema or trace.get("pipeline_name")
        out.runs.append(
            RunRecord(run_key=key, status=FAILED, schema_name=schema, error=error, failed_step=failed_step, **common)
        )
        out.steps += [_step_record(key, s, failing) for s in steps if s.get("step") != "run"]
    return out


def _read_steps(steps: list[dict[str, Any]], out: TraceRecords) -> _Packages:
    """The load packages the steps mention; the destination and dataset of the load step go into `out`."""
    packages = _Packages()
    for step in steps:
        name = step.get("step") or ""
        info = step.get("step_info") or {}
        for load_id in info.get("loads_ids") or []:
            packages.mention(load_id, name)
        for package in info.get("load_packages") or []:
            packages.mention(package.get("load_id"), name)
            packages.schema_of.setdefault(package.get("load_id"), package.get("schema_name"))
            if name == "load" and package.get("state") == "loaded":
                packages.loaded.add(package.get("load_id"))
        for exception in step.get("exception_traces") or []:
            packages.mention(exception.get("load_id"), name)
        load_info = step.get("load_info") or {}
        if load_info.get("destination_type"):
            out.destination_type = load_info["destination_type"]
            out.location = destination_location(
                load_info["destination_type"], load_info.get("destination_displayable_credentials")
            )
            out.dataset_name = load_info.get("dataset_name") or out.dataset_name
    return packages


def _row_counts(steps: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Rows normalized per (load id, table), from the normalize step's table metrics."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for step in steps:
        for metric in (step.get("normalize_info") or {}).get("table_metrics") or []:
            if metric.get("load_id") and metric.get("table_name"):
                counts[(metric["load_id"], metric["table_name"])] += int(metric.get("items_count") or 0)
    return counts


def _run_fields(trace: dict[str, Any], out: TraceRecords, via: str, fallback_location: str) -> dict[str, Any]:
    """What every run of the trace shares: where it loaded, when, and where it ran."""
    context = trace.get("execution_context") or {}
    details = execution_details(context)
    return dict(
        via=via,
        location=out.location or fallback_location,
        transaction_id=trace.get("transaction_id"),
        pipeline_name=trace.get("pipeline_name"),
        dataset_name=out.dataset_name,
        destination_type=out.destination_type,
        started_at=to_datetime(trace.get("started_at")),
        finished_at=to_datetime(trace.get("finished_at")),
        environment=environment_label(context),
        execution_context=json.dumps(details) if details else None,
    )


def _step_record(key: str, step: dict[str, Any], failing: dict[str, Any] | None) -> StepRecord:
    return StepRecord(
        run_key=key,
        step=step.get("step") or "",
        started_at=to_datetime(step.get("started_at")),
        finished_at=to_datetime(step.get("finished_at")),
        error=_error_of(step) if step is failing else None,
    )


def _nest(row: dict[str, Any]) -> dict[str, Any]:
    """dlt flattens nested dicts into `a__b` columns: put them back."""
    nested: dict[str, Any] = {}
    for column, value in row.items():
        if column.startswith("_dlt_"):
            continue
        *path, leaf = column.split("__")
        target = nested
        for part in path:
            target = target.setdefault(part, {})
        target[leaf] = value
    return nested


def assemble_traces(tables: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Re-nest rows of `_trace` and its child tables into `PipelineTrace.asdict()`-shaped dicts.

    Each row keeps dlt's `_dlt_id`/`_dlt_parent_id`/`_dlt_list_idx` links; the root rows also
    carry `_dlt_load_id`, returned as `trace["_load_id"]` (the load that uploaded the trace).
    """
    names = sorted(tables, key=lambda n: n.count("__"))
    built: dict[str, dict[str, dict[str, Any]]] = {}  # table -> _dlt_id -> object
    for name in names:
        built[name] = {}
        parent = _parent_table(name, names)
        for row in sorted(tables[name], key=lambda r: r.get("_dlt_list_idx") or 0):
            obj: Any = row.get("value") if _is_value_list(row) else _nest(row)
            if isinstance(obj, dict):
                built[name][row.get("_dlt_id")] = obj
                if parent is None:
                    obj["_load_id"] = row.get("_dlt_load_id")
            if parent is None:
                continue
            owner = built.get(parent, {}).get(row.get("_dlt_parent_id"))
            if owner is None:
                continue
            *path, leaf = name[len(parent) + 2 :].split("__")
            target = owner
            for part in path:
                target = target.setdefault(part, {})
            target.setdefault(leaf, []).append(obj)
    return list(built.get(TRACE_ROOT, {}).values())


def _parent_table(name: str, names: list[str]) -> str | None:
    parts = name.split("__")
    for cut in range(len(parts) - 1, 0, -1):
        candidate = "__".join(parts[:cut])
        if candidate in names:
            return candidate
    return None


def _is_value_list(row: dict[str, Any]) -> bool:
    return "value" in row and all(k == "value" or k.startswith("_dlt_") for k in row)


def ancestry(table: str, present: set[str] | list[str]) -> list[str]:
    """A `_trace` child table and its parents up to `_trace`, nearest first (for SQL joins)."""
    chain = [table]
    names = list(present)
    while (parent := _parent_table(chain[-1], names)) is not None:
        chain.append(parent)
    return chain


def trace_rows_sql(
    table: str,
    present: set[str],
    columns: list[str],
    qualify: Callable[[str], str],
    quote: Callable[[str], str],
    placeholder: str,
) -> str:
    """SQL reading one `_trace*` table's rows of traces uploaded after a load id.

    `qualify(table)` names a table and `quote(column)` a column in the destination's dialect;
    `placeholder` is its parameter marker for the last trace-upload load id already read.
    """
    chain = ancestry(table, present)
    selected = ", ".join(f"t0.{quote(c)}" for c in safe_columns(columns))
    sql = f"SELECT {selected} FROM {qualify(chain[0])} AS t0"
    for i in range(1, len(chain)):
        sql += f" JOIN {qualify(chain[i])} AS t{i} ON t{i - 1}._dlt_parent_id = t{i}._dlt_id"
    return sql + f" WHERE t{len(chain) - 1}._dlt_load_id > {placeholder}"
