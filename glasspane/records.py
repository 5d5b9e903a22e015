"""What collectors hand to the store: plain records of dlt metadata, never a data value."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

# How a run was observed, best evidence first: the merged `runs` view prefers earlier ones.
VIA_DLT_LOADS = "dlt_loads"  # a row in the destination's _dlt_loads: the load completed
VIA_TRACE_TABLE = "trace_table"  # the _trace tables a pipeline loaded into its destination
VIA_TRACE = "trace"  # trace.pickle in a pipeline working folder
VIA_LOAD_PACKAGE = "load_package"  # a load package kept in a pipeline working folder
VIA_FILE_FOOTER = "file_footer"  # row counts read from parquet footers
VIA_COUNT_QUERY = "count_query"  # opt-in count queries on a warehouse's root tables (budget-guarded)

# Working folders: a `pipelines_dir` source's runs, located on the machine (`local://host/path`) until a
# destination that saw the same pipeline gives them their real place.
WORKING_FOLDERS_KIND = "pipelines_dir"
WORKING_FOLDER_SCHEME = "local://"

COMPLETED = "completed"
FAILED = "failed"
PENDING = "pending"


def run_key(schema_name: str | None, load_id: str | None, transaction_id: str | None = None) -> str:
    """The identity of a run across sources: its schema and load id, else its trace's transaction."""
    if load_id:
        return f"{schema_name or ''}/{load_id}"
    return f"trace/{transaction_id}"


def load_id_in(key: str) -> str | None:
    """The load id a run's key carries (None for a key made from a trace's transaction)."""
    if key.startswith("trace/"):
        return None
    return key.partition("/")[2] or None


@dataclass
class RunRecord:
    """One source's view of one run (a load package, or a failed run without one)."""

    run_key: str
    via: str
    status: str
    location: str
    load_id: str | None = None
    transaction_id: str | None = None
    pipeline_name: str | None = None
    dataset_name: str | None = None
    schema_name: str | None = None
    destination_type: str | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    error: str | None = None
    failed_step: str | None = None
    environment: str | None = None
    execution_context: str | None = None  # JSON text
    is_trace_upload: bool = False


@dataclass
class TableCountRecord:
    """Rows loaded into one table by one load."""

    load_id: str
    schema_name: str
    table_name: str
    row_count: int
    via: str
    location: str
    dataset_name: str | None = None


@dataclass
class StepRecord:
    """Timing (and error) of one step of a run."""

    run_key: str
    step: str
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    error: str | None = None


@dataclass
class ColumnRecord:
    """A column of a stored schema with its hints."""

    table_name: str
    column_name: str
    data_type: str | None
    nullable: bool | None
    pii: bool
    pii_kind: str | None
    hints: str  # JSON text of the column's hints
    parent_table: str | None
    root_table: str | None


@dataclass
class SchemaVersionRecord:
    """One stored version of a dlt schema and its columns."""

    location: str
    dataset_name: str
    schema_name: str
    version_hash: str
    version: int | None
    engine_version: int | None
    inserted_at: dt.datetime | None
    schema: str  # JSON text
    columns: list[ColumnRecord]


@dataclass
class DefinitionRecord:
    """The SQL of a view or a materialised model in a dataset (lineage is computed from it)."""

    name: str
    kind: str  # 'view' | 'model'
    dialect: str  # sqlglot dialect
    sql: str
    origin: str  # where it was read: `duckdb_views()`, `INFORMATION_SCHEMA.VIEWS`, a file path


@dataclass
class TableSizeRecord:
    """A data table's size from free table metadata (e.g. BigQuery's tables.get), never a scan."""

    location: str
    dataset_name: str
    table_name: str
    num_rows: int | None
    num_bytes: int | None
    modified_at: dt.datetime | None


@dataclass
class StagingDatasetRecord:
    """dlt's staging dataset of a dataset (merge loads stage their rows there): its name and tables."""

    dataset_name: str
    tables: list[str]  # names listed by the destination (none when it does not exist), never rows


@dataclass
class LoadPackageRecord:
    """A load package a pipeline working folder keeps, as listing its folders shows it (no file is read)."""

    location: str  # where the pipeline loads: the destination its trace named, else the working folder
    pipeline_name: str
    dataset_name: str
    load_id: str
    state: str  # 'loaded' | 'normalized' | 'extracted'
    path: str  # the package folder
    tables: list[str]  # tables with job (data) files in the package


@dataclass
class DatasetBatch:
    """Everything a collector read from one dataset in one collect, and where to resume next time."""

    runs: list[RunRecord] = field(default_factory=list)
    table_counts: list[TableCountRecord] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    schema_versions: list[SchemaVersionRecord] = field(default_factory=list)
    table_sizes: list[TableSizeRecord] = field(default_factory=list)
    cursor: dict[str, Any] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (what, reason)
    destination_type: str | None = None
    stats: dict[str, int] = field(default_factory=dict)
    # Every view/model definition of the dataset; None when the collector does not read them.
    definitions: list[DefinitionRecord] | None = None
    # dlt's staging dataset of this dataset; None when the collector does not look for it.
    staging: StagingDatasetRecord | None = None
    # Every load package a working folder keeps; None when the collector does not list them.
    load_packages: list[LoadPackageRecord] | None = None

    def extend(self, other: DatasetBatch) -> None:
        """Add another batch's records and problems to this one (cursor and stats excluded)."""
        self.runs += other.runs
        self.table_counts += other.table_counts
        self.steps += other.steps
        self.schema_versions += other.schema_versions
        self.table_sizes += other.table_sizes
        self.problems += other.problems
        if other.definitions is not None:
            self.definitions = (self.definitions or []) + other.definitions
        self.staging = other.staging or self.staging
        if other.load_packages is not None:
            self.load_packages = (self.load_packages or []) + other.load_packages
