"""What a collect has read and not yet written: datasets' batches and sources' outcomes.

Light on purpose: the collect's reading side builds these without importing the writing side
(`glasspane.store.ingest`, with pandas, lineage and the summaries), which a collect that finds
nothing new never needs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from glasspane.records import (
    DatasetBatch,
    DefinitionRecord,
    LoadPackageRecord,
    RunRecord,
    StagingDatasetRecord,
    StepRecord,
    TableCountRecord,
    TableSizeRecord,
)


@dataclasses.dataclass
class SourceOutcome:
    """How one source's collect went, for `raw.sources` and `raw.collect_log`."""

    source: str
    kind: str
    location: str
    started_at: dt.datetime
    finished_at: dt.datetime
    status: str  # 'ok' | 'error'
    errors: list[str]
    datasets: int
    new_runs: int = 0
    stats: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Pending:
    """Datasets' batches and sources' outcomes read but not yet written: one transaction's worth."""

    collected_at: dt.datetime
    datasets: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    runs: list[tuple[str, RunRecord]] = dataclasses.field(default_factory=list)
    counts: list[tuple[str, TableCountRecord]] = dataclasses.field(default_factory=list)
    steps: list[StepRecord] = dataclasses.field(default_factory=list)
    versions: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    columns: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    definitions: list[tuple[str, str, str, list[DefinitionRecord]]] = dataclasses.field(default_factory=list)
    staging: list[tuple[str, str, str, StagingDatasetRecord]] = dataclasses.field(default_factory=list)
    packages: list[tuple[str, str, list[LoadPackageRecord]]] = dataclasses.field(default_factory=list)
    sizes: list[tuple[str, list[TableSizeRecord]]] = dataclasses.field(default_factory=list)
    outcomes: list[SourceOutcome] = dataclasses.field(default_factory=list)
    records: int = 0
    sources: set[str] = dataclasses.field(default_factory=set)  # sources with records here

    def add(self, source: str, key: str, location: str, dataset_name: str | None, batch: DatasetBatch) -> None:
        """Queue one dataset's batch and its new cursor."""
        self.sources.add(source)
        self.datasets.append(
            {
                "source": source,
                "dataset_key": key,
                "location": location,
                "dataset_name": dataset_name,
                "destination_type": batch.destination_type,
                "cursor": json.dumps(batch.cursor, default=str),
            }
        )
        self.runs += [(source, r) for r in batch.runs]
        self.counts += [(source, c) for c in batch.table_counts]
        self.steps += batch.steps
        columns = len(self.columns)
        for v in batch.schema_versions:
            version_key = {
                "source": source,
                "location": v.location,
                "dataset_name": v.dataset_name,
                "schema_name": v.schema_name,
                "version_hash": v.version_hash,
            }
            self.versions.append(
                {
                    **version_key,
                    "version": v.version,
                    "engine_version": v.engine_version,
                    "inserted_at": v.inserted_at,
                    "schema": v.schema,
                }
            )
            self.columns += [{**version_key, **vars(c)} for c in v.columns]  # flat fields: no deep copy
        name = dataset_name or key
        if batch.definitions is not None:
            self.definitions.append((source, location, name, batch.definitions))
        if batch.staging is not None:
            self.staging.append((source, location, name, batch.staging))
        if batch.load_packages is not None:
            self.packages.append((source, key, batch.load_packages))
        if batch.table_sizes:
            self.sizes.append((source, batch.table_sizes))
        added = len(batch.runs) + len(batch.table_counts) + len(batch.steps) + len(self.columns) - columns
        self.records += 1 + added

    def __bool__(self) -> bool:
        return bool(self.datasets or self.outcomes)

    def split_by_source(self) -> list[Pending]:
        """The same records and outcomes, one `Pending` per source."""
        parts: dict[str, Pending] = {}

        def part(source: str) -> Pending:
            return parts.setdefault(source, Pending(self.collected_at, sources={source}))

        for row in self.datasets:
            part(row["source"]).datasets.append(row)
        for source, run in self.runs:
            part(source).runs.append((source, run))
        for source, count in self.counts:
            part(source).counts.append((source, count))
        steps = {run.run_key: source for source, run in self.runs}
        for step in self.steps:
            part(steps.get(step.run_key, next(iter(self.sources)))).steps.append(step)
        for version in self.versions:
            part(version["source"]).versions.append(version)
        for column in self.columns:
            part(column["source"]).columns.append(column)
        for item in self.definitions:
            part(item[0]).definitions.append(item)
        for item in self.staging:
            part(item[0]).staging.append(item)
        for item in self.packages:
            part(item[0]).packages.append(item)
        for item in self.sizes:
            part(item[0]).sizes.append(item)
        for outcome in self.outcomes:
            part(outcome.source).outcomes.append(outcome)
        return list(parts.values())


def mark_failure(outcome: SourceOutcome, failures: dict[str, str]) -> None:
    """Mark a source's outcome failed when the store refused its records (the error said once)."""
    error = failures.get(outcome.source)
    if error and error not in outcome.errors:
        outcome.status = "error"
        outcome.errors.append(error)
