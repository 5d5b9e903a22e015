"""`kind = "bigquery"`: every dlt dataset in one or many BigQuery projects.

A dataset is any dataset holding `_dlt_loads`. Its dlt tables (`_dlt_loads`, `_dlt_version`,
`_dlt_pipeline_state`, `_trace*`) are read incrementally through the official client. Cost is
a feature: a dataset whose `_dlt_loads` table metadata (free `tables.get`) has not changed since
the last collect costs no query at all, one without new loads costs one small query on
`_dlt_loads` (where metadata cannot tell, e.g. an emulator); data tables are never scanned. Every
collect takes a snapshot of the data tables' sizes from free table metadata (tables.list and
tables.get: API calls, no query, nothing billed), new loads or not; per-load row counts come from
traces, or (opt-in, `count_rows = true`) from a count query that a dry run checks against a byte
budget first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from collectors.base import Collector, Dataset, SourceError
from collectors.bigquery_client import (
    BigQueryAccess,
    bq_location,
    describe_bigquery_error,
    quote,
    resolve_credentials,
)
from collectors.bigquery_views import VIEW_TABLE_TYPE, definitions_from_rows, views_sql
from collectors.destination import dataset_batch, latest, learn_versions, may_bring_versions, missing_dlt_tables
from collectors.traces import TRACE_ROOT, TRACE_TABLES, trace_rows_sql
from glasspane.config import ConfigError
from glasspane.dlt_meta import is_dlt_table
from glasspane.records import VIA_COUNT_QUERY, DatasetBatch, TableCountRecord, TableSizeRecord

EPOCH = "1970-01-01T00:00:00+00:00"
DEFAULT_MAX_BYTES_BILLED = 1_000_000_000  # per source and collect, for the opt-in count queries
DEFAULT_TIMEOUT_S = 60.0
MAX_PARALLEL_PROJECTS = 4


class BigQueryCollector(Collector):
    """Reads dlt's metadata tables from every dlt dataset in the configured projects."""

    kind = "bigquery"
    optional_keys = (
        "project",
        "projects",
        "datasets",
        "location",
        "billing_project",
        "api_endpoint",
        "anonymous",
        "timeout_s",
        "max_parallel_projects",
        "table_sizes",
        "count_rows",
        "max_bytes_billed",
        "views",
    )
    max_parallel = 8

    def __init__(self, config):
        super().__init__(config)
        projects = [self.option("project")] if self.option("project") else list(self.option("projects") or [])
        if not projects or not all(isinstance(p, str) and p for p in projects):
            raise ConfigError(
                f"{config.origin}: source '{config.name}' (kind bigquery): set `project = \"...\"` "
                'or `projects = ["...", ...]`'
            )
        self.projects: list[str] = projects
        self.timeout_s = float(self.option("timeout_s", DEFAULT_TIMEOUT_S))
        self.budget_left = int(self.option("max_bytes_billed", DEFAULT_MAX_BYTES_BILLED))
        self._budget_lock = threading.Lock()
        self.access: BigQueryAccess | None = None
        self._loads_tables: dict[str, list[Any]] = {}  # dataset key -> `_dlt_loads` metadata fingerprint
        self._listed: set[str] = set()  # dataset names seen in any project

    @property
    def location(self) -> str:
        return ",".join(bq_location(p) for p in self.projects)

    def open(self) -> None:
        credentials = None if self.option("anonymous") else resolve_credentials(self.name, self.location)
        self.access = BigQueryAccess(
            credentials=credentials,
            anonymous=bool(self.option("anonymous")),
            api_endpoint=self.option("api_endpoint"),
            location=self.option("location"),
            billing_project=self.option("billing_project"),
            timeout_s=self.timeout_s,
        )

    def close(self) -> None:
        if self.access is not None:
            self.add_stats(self.access.meter.counts)
            self.access.close()
            self.access = None

    def describe(self, ex: BaseException) -> str:
        """What went wrong calling BigQuery through this source, in one line without credentials."""
        return describe_bigquery_error(ex, self.name)

    def discover(self) -> list[Dataset]:
        assert self.access is not None, "open() first"
        workers = int(self.option("max_parallel_projects", MAX_PARALLEL_PROJECTS))
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            found = list(pool.map(self._discover_project, self.projects))
        for name in sorted(set(self.option("datasets") or []) - self._listed):
            self.add_problem(SourceError(f"dataset '{name}'", "not found in any project that could be listed"))
        return [dataset for datasets in found for dataset in datasets]

    def _discover_project(self, project: str) -> list[Dataset]:
        """Datasets of one project holding `_dlt_loads`; a project that fails is reported, not raised."""
        access = self.access
        assert access is not None
        try:
            names = sorted(d.dataset_id for d in access.datasets(project))
            wanted = list(self.option("datasets") or [])
            candidates = [n for n in names if not wanted or n in wanted]
            self._listed.update(names)
            with ThreadPoolExecutor(max_workers=8) as pool:
                tables = list(pool.map(lambda n: access.table(project, n, "_dlt_loads"), candidates))
        except Exception as ex:  # one project failing never stops the others
            self.add_problem(SourceError(bq_location(project), describe_bigquery_error(ex, self.name)))
            return []
        datasets = []
        for name, table in zip(candidates, tables, strict=True):
            if table is None:
                if wanted:
                    self.add_problem(SourceError(f"{bq_location(project)}/{name}", "no _dlt_loads table in it"))
                continue
            key = f"{project}.{name}"
            self._loads_tables[key] = [table.num_rows, table.modified.isoformat() if table.modified else None]
            datasets.append(Dataset(key=key, dataset_name=name, location=bq_location(project)))
        return datasets

    def collect(self, dataset: Dataset, cursor: dict[str, Any]) -> DatasetBatch:
        assert self.access is not None, "open() first"
        project, name = dataset.key.split(".", 1)
        fingerprint = self._loads_tables.get(dataset.key)
        try:
            tables, metadata = None, None
            if self.option("table_sizes", True):
                tables = self.access.tables(project, name)
                metadata = self._data_tables(project, name, tables)
            if cursor and fingerprint and fingerprint[0] and cursor.get("loads_table") == fingerprint:
                batch = DatasetBatch(cursor=dict(cursor), destination_type="bigquery")  # nothing new: no query
            else:
                batch = self._collect(dataset, cursor, fingerprint, tables, metadata)
        except SourceError:
            raise
        except Exception as ex:
            raise SourceError(
                f"{dataset.location}/{dataset.dataset_name}", describe_bigquery_error(ex, self.name)
            ) from None
        if metadata is not None:  # the size snapshot of this collect
            batch.table_sizes = [
                TableSizeRecord(dataset.location, name, t, m.num_rows, m.num_bytes, m.modified)
                for t, m in metadata.items()
            ]
        return batch

    def _data_tables(self, project: str, name: str, tables: dict[str, str]) -> dict[str, Any]:
        """Metadata of a dataset's data tables (dlt's own and views left out): free API calls, no query."""
        access = self.access
        assert access is not None
        # views hold no rows of their own: sizes and counts are for tables only
        data_tables = sorted(t for t, kind in tables.items() if kind != VIEW_TABLE_TYPE and not is_dlt_table(t))
        with ThreadPoolExecutor(max_workers=8) as pool:
            found = list(pool.map(lambda t: access.table(project, name, t), data_tables))
        return {t: m for t, m in zip(data_tables, found, strict=True) if m is not None}

    def _collect(
        self,
        dataset: Dataset,
        cursor: dict[str, Any],
        fingerprint: list[Any] | None,
        tables: dict[str, str] | None,
        metadata: dict[str, Any] | None,
    ) -> DatasetBatch:
        """Read what is new; `tables` and `metadata` are the dataset's, when this collect listed them already."""
        access = self.access
        assert access is not None
        project, name = dataset.key.split(".", 1)

        def table(t: str) -> str:
            return quote(f"{project}.{name}.{t}")

        def rows(sql: str, **params: Any) -> list[dict[str, Any]]:
            return access.query(project, sql, params)

        loads_since = cursor.get("loads_inserted_at", EPOCH)
        loads = rows(
            f"SELECT load_id, schema_name, inserted_at, schema_version_hash FROM {table('_dlt_loads')} "
            "WHERE inserted_at > @since ORDER BY inserted_at",
            since=("TIMESTAMP", loads_since),
        )
        if cursor and not loads:  # dlt writes its other tables with a load: nothing new without one
            return DatasetBatch(cursor={**cursor, "loads_table": fingerprint}, destination_type="bigquery")
        tables = tables if tables is not None else access.tables(project, name)
        versions_since = cursor.get("versions_inserted_at", EPOCH)
        states_since = cursor.get("state_load_id", "")
        # a query job less for new loads whose schema versions were read before
        read_versions = "_dlt_version" in tables and may_bring_versions(loads, cursor)
        versions, states = _versions_and_states(rows, table, tables, read_versions, versions_since, states_since)
        traces_since = cursor.get("trace_load_id", "")
        trace_tables = self._read_traces(project, name, tables, traces_since, table) if TRACE_ROOT in tables else {}

        batch = dataset_batch(dataset, "bigquery", cursor, loads, versions, states, trace_tables)
        batch.problems += missing_dlt_tables(tables, f"{dataset.location} dataset '{name}'")
        batch.cursor["loads_table"] = fingerprint
        learn_versions(batch, cursor, loads, listed=read_versions)
        batch.cursor["loads_inserted_at"] = latest(loads, "inserted_at", loads_since)
        batch.cursor["versions_inserted_at"] = latest(versions, "inserted_at", versions_since)
        batch.cursor["state_load_id"] = max([states_since] + [r["_dlt_load_id"] for r in states])
        batch.cursor["trace_load_id"] = max(
            [traces_since] + [r.get("_dlt_load_id") or "" for r in trace_tables.get(TRACE_ROOT, [])]
        )
        if self.option("views", True):  # view SQL for lineage, refreshed with each new load
            # a query job only where the listing shows a view: none means none to keep (and any stored go)
            has_views = VIEW_TABLE_TYPE in tables.values()
            batch.definitions = definitions_from_rows(rows(views_sql(project, name))) if has_views else []
        if self.option("count_rows", False):
            metadata = metadata if metadata is not None else self._data_tables(project, name, tables)
            uncounted = _uncounted_loads(loads, batch)
            batch.table_counts += self._count_rows(dataset, project, metadata, uncounted, table, batch)
        return batch

    def _read_traces(
        self, project: str, name: str, tables: dict[str, str], since: str, table: Callable[[str], str]
    ) -> dict[str, list[dict[str, Any]]]:
        """Rows of the `_trace*` tables uploaded after load id `since`; children only when there are new traces."""
        access = self.access
        assert access is not None
        present = {t for t in TRACE_TABLES if t in tables}
        out: dict[str, list[dict[str, Any]]] = {}
        for trace_table in [TRACE_ROOT] + sorted(present - {TRACE_ROOT}):
            columns = access.columns(project, name, trace_table)
            sql = trace_rows_sql(trace_table, present, columns, table, lambda c: quote(c), "@since")
            out[trace_table] = access.query(project, sql, {"since": ("STRING", since)})
            if not out[TRACE_ROOT]:
                return {}
        return out

    def _count_rows(
        self,
        dataset: Dataset,
        project: str,
        metadata: dict[str, Any],
        uncounted: dict[str, str],
        table: Callable[[str], str],
        batch: DatasetBatch,
    ) -> list[TableCountRecord]:
        """Opt-in: rows per load of root tables (those with `_dlt_load_id`), each query dry-run against the budget."""
        access = self.access
        assert access is not None
        if not uncounted:
            return []
        counts = []
        ids = ("STRING[]", sorted(uncounted))
        for name, meta in sorted(metadata.items()):
            if meta is None or "_dlt_load_id" not in {f.name for f in meta.schema}:
                continue
            sql = (
                f"SELECT _dlt_load_id AS load_id, COUNT(*) AS row_count FROM {table(name)} "
                "WHERE _dlt_load_id IN UNNEST(@ids) GROUP BY 1"
            )
            estimate = access.dry_run(project, sql, {"ids": ids})
            with self._budget_lock:
                allowed = estimate <= self.budget_left
                if allowed:
                    self.budget_left -= estimate
                left = self.budget_left
            if not allowed:
                batch.problems.append(
                    (
                        f"{dataset.location}/{dataset.dataset_name}.{name}",
                        f"row count query skipped: it would process {estimate:,} bytes, more than the "
                        f"{left:,} left of max_bytes_billed",
                    )
                )
                continue
            for row in access.query(project, sql, {"ids": ids}, max_bytes_billed=estimate):
                load_id = str(row["load_id"])
                counts.append(
                    TableCountRecord(
                        load_id,
                        uncounted[load_id],
                        name,
                        int(row["row_count"]),
                        VIA_COUNT_QUERY,
                        dataset.location,
                        dataset.dataset_name,
                    )
                )
        return counts


def _versions_and_states(
    rows: Callable[..., list[dict[str, Any]]],
    table: Callable[[str], str],
    tables: dict[str, str],
    read_versions: bool,
    versions_since: str,
    states_since: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of `_dlt_version` (when `read_versions`) and `_dlt_pipeline_state` from the cursor's positions
    on (none without the table)."""
    versions, states = [], []
    if read_versions:
        versions = rows(
            "SELECT version, engine_version, inserted_at, schema_name, version_hash, schema "
            f"FROM {table('_dlt_version')} WHERE inserted_at >= @since ORDER BY inserted_at",
            since=("TIMESTAMP", versions_since),
        )
    if "_dlt_pipeline_state" in tables:
        states = rows(
            f"SELECT pipeline_name, _dlt_load_id, state FROM {table('_dlt_pipeline_state')} "
            "WHERE _dlt_load_id >= @since ORDER BY _dlt_load_id",
            since=("STRING", states_since),
        )
    return versions, states


def _uncounted_loads(loads: list[dict[str, Any]], batch: DatasetBatch) -> dict[str, str]:
    """Load id -> schema name of the new loads no trace counted rows for (trace uploads aside)."""
    counted = {c.load_id for c in batch.table_counts} | {r.load_id for r in batch.runs if r.is_trace_upload}
    return {str(r["load_id"]): r.get("schema_name") or "" for r in loads if str(r["load_id"]) not in counted}
