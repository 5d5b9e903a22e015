"""What every destination collector does with the rows it read, however it read them.

DuckDB, filesystem buckets and BigQuery all hold the same dlt tables: `_dlt_loads`,
`_dlt_version`, `_dlt_pipeline_state` and, when a pipeline loads its trace, `_trace*`.
Collectors differ only in how they fetch those rows; this module turns rows into records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from collectors.base import Dataset
from collectors.traces import assemble_traces, records_from_trace
from glasspane.dlt_meta import decode_stored, load_id_to_datetime, schema_columns, to_datetime
from glasspane.records import (
    COMPLETED,
    VIA_DLT_LOADS,
    VIA_TRACE_TABLE,
    DatasetBatch,
    RunRecord,
    SchemaVersionRecord,
    run_key,
)

VERSION_HASHES = "version_hashes"  # cursor key: hashes of the schema versions read


def may_bring_versions(loads: list[dict[str, Any]], cursor: dict[str, Any]) -> bool:
    """Whether some of the new loads may come with a schema version not read yet: dlt stores a version
    before the first load that uses it, and each `_dlt_loads` row names its version's hash."""
    known = set(cursor.get(VERSION_HASHES) or [])
    return any(str(r.get("schema_version_hash") or "") not in known for r in loads)


def learn_versions(batch: DatasetBatch, cursor: dict[str, Any], loads: list[dict[str, Any]], listed: bool) -> None:
    """Keep in the cursor the hashes of the versions read: those just read, and when every version stored
    since the cursor's position was read (`listed`), those the new loads name."""
    known = set(cursor.get(VERSION_HASHES) or []) | {v.version_hash for v in batch.schema_versions}
    if listed:
        known |= {str(r["schema_version_hash"]) for r in loads if r.get("schema_version_hash")}
    batch.cursor[VERSION_HASHES] = sorted(known)


def latest(rows: list[dict[str, Any]], column: str, default: str) -> str:
    """The newest value of a timestamp column among `rows`, as ISO text; `default` when there is none."""
    values = [r[column] for r in rows if r.get(column) is not None]
    return max(values).isoformat() if values else default


def dataset_batch(
    dataset: Dataset,
    destination_type: str,
    cursor: dict[str, Any],
    loads: list[dict[str, Any]],
    versions: list[dict[str, Any]],
    states: list[dict[str, Any]],
    trace_tables: dict[str, list[dict[str, Any]]] | None = None,
) -> DatasetBatch:
    """Records from the new rows of a dataset's dlt tables; the caller moves its own read positions.

    `states` rows need `pipeline_name` and `_dlt_load_id`, and may carry the stored `state`,
    of which only dlt's bookkeeping keys (schema names) are read, never the sources' state.
    """
    batch = DatasetBatch(cursor=dict(cursor), destination_type=destination_type)
    dataset_name = dataset.dataset_name or dataset.key
    schema_of_load = {str(r["load_id"]): r.get("schema_name") for r in loads}
    pipelines, pipeline_of_load = _pipeline_names(cursor, states, schema_of_load)
    batch.cursor["pipelines"] = pipelines

    for row in loads:
        load_id, schema = str(row["load_id"]), row.get("schema_name")
        batch.runs.append(
            RunRecord(
                run_key=run_key(schema, load_id),
                via=VIA_DLT_LOADS,
                status=COMPLETED,
                location=dataset.location,
                load_id=load_id,
                pipeline_name=pipeline_of_load.get(load_id) or pipelines.get(schema),
                dataset_name=dataset_name,
                schema_name=schema,
                destination_type=destination_type,
                started_at=load_id_to_datetime(load_id),
                finished_at=to_datetime(row.get("inserted_at")),
            )
        )

    for row in versions:
        record = _schema_version(row, dataset.location, dataset_name, batch)
        if record:
            batch.schema_versions.append(record)

    add_traces(batch, dataset, loads, trace_tables or {})
    batch.stats["loads"] = len(loads)
    return batch


def add_traces(
    batch: DatasetBatch, dataset: Dataset, loads: list[dict[str, Any]], trace_tables: dict[str, list[dict[str, Any]]]
) -> None:
    """Add the runs of the traces whose `_trace*` table rows these are (uploaded by some of the new `loads`)."""
    schema_of_load = {str(r["load_id"]): r.get("schema_name") for r in loads}
    pipelines = batch.cursor.get("pipelines") or {}
    for trace in assemble_traces(trace_tables):
        upload_id = str(trace.get("_load_id") or "")
        schema = (
            schema_of_load.get(upload_id) or pipelines.get(trace.get("pipeline_name")) or trace.get("pipeline_name")
        )
        _add_trace(batch, trace, dataset, dataset.dataset_name or dataset.key, schema, upload_id)


def _pipeline_names(
    cursor: dict[str, Any], states: list[dict[str, Any]], schema_of_load: dict[str, str | None]
) -> tuple[dict[str, str], dict[str, str]]:
    """Pipeline names by schema (those the cursor kept, updated from the new states) and by load id."""
    pipelines = dict(cursor.get("pipelines") or {})  # schema name -> pipeline name
    pipeline_of_load: dict[str, str] = {}
    for row in states:
        name, load_id = row.get("pipeline_name"), str(row.get("_dlt_load_id") or "")
        if not name:
            continue
        pipeline_of_load[load_id] = name
        for schema in _state_schemas(row) | {schema_of_load.get(load_id)}:
            if schema:
                pipelines[schema] = name
    return pipelines, pipeline_of_load


def _add_trace(
    batch: DatasetBatch, trace: dict[str, Any], dataset: Dataset, dataset_name: str, schema: str | None, upload_id: str
) -> None:
    """The runs, counts and steps of a trace the pipeline loaded into its destination, and the load that carried it."""
    records = records_from_trace(trace, VIA_TRACE_TABLE, dataset.location, schema, dataset_name)
    batch.runs += records.runs
    batch.table_counts += records.table_counts
    batch.steps += records.steps
    if upload_id:  # the load that carried the trace is bookkeeping, not a pipeline run
        batch.runs.append(
            RunRecord(
                run_key=run_key(schema, upload_id),
                via=VIA_TRACE_TABLE,
                status=COMPLETED,
                location=dataset.location,
                load_id=upload_id,
                schema_name=schema,
                dataset_name=dataset_name,
                is_trace_upload=True,
            )
        )


def _state_schemas(row: dict[str, Any]) -> set[str]:
    """Schema names a stored pipeline state lists (dlt's bookkeeping keys only)."""
    if not row.get("state"):
        return set()
    try:
        state = decode_stored(row["state"])
    except ValueError:
        return set()
    names = set(state.get("schema_names") or [])
    if state.get("default_schema_name"):
        names.add(state["default_schema_name"])
    return {n for n in names if isinstance(n, str)}


def _schema_version(
    row: dict[str, Any], location: str, dataset_name: str, batch: DatasetBatch
) -> SchemaVersionRecord | None:
    what = f"{location} {dataset_name}._dlt_version (version_hash {row.get('version_hash')})"
    try:
        schema = decode_stored(row.get("schema") or "")
    except ValueError as ex:
        batch.problems.append((what, f"stored schema is {ex}"))
        return None
    return SchemaVersionRecord(
        location=location,
        dataset_name=dataset_name,
        schema_name=row.get("schema_name") or schema.get("name") or "",
        version_hash=row.get("version_hash") or schema.get("version_hash") or "",
        version=row.get("version", schema.get("version")),
        engine_version=row.get("engine_version", schema.get("engine_version")),
        inserted_at=to_datetime(row.get("inserted_at")),
        schema=json.dumps(schema, default=str),
        columns=schema_columns(schema),
    )


# dlt writes these with every dataset; without one, part of what Glasspane shows cannot be read.
NEEDED_DLT_TABLES = (("_dlt_version", "schema history"), ("_dlt_pipeline_state", "pipeline names of loads"))


def missing_dlt_tables(present: Iterable[str], where: str) -> list[tuple[str, str]]:
    """A problem (what, reason) for each needed dlt table `present` (canonical names) lacks."""
    return [
        (where, f"no {table} table: its {lost} cannot be read; its runs are still collected")
        for table, lost in NEEDED_DLT_TABLES
        if table not in present
    ]
