"""What a deletion plan is made of: the store's metadata it plans from (`DeletionTargets`), its steps, and the plan
with its exports (JSON, SQL). How a plan is built is in `plan`; how it runs, in `execute`."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import PurePath

DELETE, DELETE_CHILDREN, CLEARED, REBUILD, NOT_SUPPORTED = (
    "delete",
    "delete_children",
    "cleared_by_base_rows",
    "rebuild",
    "not_supported",
)
STATEMENT_ACTIONS = (DELETE_CHILDREN, DELETE)
_BEGIN = {"bigquery": "BEGIN TRANSACTION;", "tsql": "BEGIN TRANSACTION;"}
_COMMIT = {"bigquery": "COMMIT TRANSACTION;", "tsql": "COMMIT TRANSACTION;"}
LOADED = "loaded"  # a load package's state: kept after loading; 'normalized' and 'extracted' are pending


@dataclass(frozen=True)
class TableMeta:
    """A dlt table of a dataset, as its stored schema describes it."""

    table_name: str
    parent_table: str | None
    columns: frozenset[str]
    loaded_rows: int | None = None  # rows loaded into it so far (from traces), for estimates
    write_disposition: str | None = None  # a root table's, from the dlt schema ('merge' loads through staging)


@dataclass(frozen=True)
class MatchColumn:
    """A column tagged with the PII kind (a dlt hint)."""

    location: str
    dataset_name: str
    table_name: str
    column_name: str
    data_type: str | None = None
    unique: bool = False


@dataclass(frozen=True)
class DerivedColumn:
    """A column of a view or model that inherits the PII kind; `value_expression` matches it by value."""

    location: str
    dataset_name: str
    table_name: str
    column_name: str
    definition_kind: str
    inherited_from: str
    value_expression: str | None
    dialect: str


@dataclass(frozen=True)
class TableEdge:
    """A view or model (downstream) that reads a table or another definition (upstream)."""

    location: str
    upstream_dataset: str
    upstream_table: str
    dataset_name: str
    table_name: str
    definition_kind: str


@dataclass(frozen=True)
class Lookalike:
    """A column that looks like the kind by name but has no PII hint: not covered by the plan."""

    location: str
    dataset_name: str
    table_name: str
    column_name: str
    reason: str


@dataclass(frozen=True)
class StagingDataset:
    """dlt's staging dataset of a dataset; `tables` as a collector last listed them, None when none did."""

    dataset_name: str
    tables: frozenset[str] | None = None


@dataclass(frozen=True)
class KeptPackage:
    """A load package a pipeline's working folder keeps: its job files copy the rows it loads."""

    location: str  # where the pipeline loads: the matched dataset's location
    pipeline_name: str
    dataset_name: str
    load_id: str
    state: str  # 'loaded' | 'normalized' | 'extracted' (pending: not loaded yet)
    path: str  # the package folder, on the machine of `machine`
    machine: str  # the pipelines folder it was listed in: local://<host>/<path>
    tables: tuple[str, ...]  # tables with job files in it (in a plan: the ones holding the subject's kind)
    seen_at: dt.datetime | None = None

    @property
    def folder(self) -> str:
        """The folder of packages in this state: `<working folder>/load/loaded`, `.../load/normalized`..."""
        return str(PurePath(self.path).parent)

    @property
    def advice(self) -> str:
        """What to do with the package: the plan's statements do not delete files."""
        if self.state == LOADED:
            return (
                f"kept after loading: its job files copy the rows it loaded. Delete them (find {self.folder} "
                f"-path '*_jobs/*' -type f -delete), or the whole local working folder with `dlt pipeline "
                f"{self.pipeline_name} sync` (it restores state and schemas from the destination); set "
                "delete_completed_jobs = true under [load] (LOAD__DELETE_COMPLETED_JOBS=true) so dlt stops "
                "keeping them"
            )
        return (
            f"{self.state}, not loaded yet: the pipeline's next run loads these rows, the subject's too, after "
            f"the statements ran. Let it load them, then execute the plan; or discard them with `dlt pipeline "
            f"{self.pipeline_name} abort-packages`"
        )


@dataclass
class DeletionTargets:
    """Everything the store knows that a plan for one PII kind needs; holds no subject's value."""

    column_kind: str
    matches: list[MatchColumn] = field(default_factory=list)
    tables: dict[tuple[str, str], dict[str, TableMeta]] = field(default_factory=dict)  # (location, dataset)
    destination_types: dict[str, str | None] = field(default_factory=dict)  # location -> dlt destination type
    derived: list[DerivedColumn] = field(default_factory=list)
    edges: list[TableEdge] = field(default_factory=list)
    lookalikes: list[Lookalike] = field(default_factory=list)
    staging: dict[tuple[str, str], StagingDataset] = field(default_factory=dict)  # (location, dataset)
    packages: list[KeptPackage] = field(default_factory=list)


@dataclass
class Step:
    """One table in a plan: what to do with it, why, and the statement when there is one."""

    location: str
    dataset_name: str
    table_name: str
    action: str
    reason: str
    dialect: str | None = None
    statement: str | None = None  # exact, with the subject's value: exports only
    masked: str | None = None  # the value as a named parameter: safe to show and to log
    executable: str | None = None  # for the destinations Glasspane executes on, with parameters bound to the value
    parameters: int = 0  # DuckDB's `?` parameters; BigQuery and Postgres name one (`@subject`, `%(subject)s`)
    numeric: bool = False  # the value is compared as a number
    estimated_rows: float | None = None
    estimate_note: str = ""
    skip_if_absent: bool = False  # a staging table: skipped, not an error, where dlt has not created it

    @property
    def qualified_name(self) -> str:
        """`dataset.table`."""
        return f"{self.dataset_name}.{self.table_name}"


@dataclass
class DeletionPlan:
    """A dry-run plan for one data subject; export it, or execute it with `glasspane.governance.deletion.execute`."""

    plan_id: str
    created_at: dt.datetime
    column_kind: str
    subject_hash: str
    steps: list[Step]
    lookalikes: list[Lookalike]
    packages: list[KeptPackage] = field(default_factory=list)

    @property
    def statements(self) -> list[Step]:
        """The steps that carry a statement, in the order they must run."""
        return [s for s in self.steps if s.action in STATEMENT_ACTIONS]

    @property
    def estimated_rows(self) -> float:
        """Rows the statements are expected to delete (an estimate from metadata)."""
        return sum(s.estimated_rows or 0 for s in self.statements)

    def package_groups(self) -> list[list[KeptPackage]]:
        """Kept packages by working folder and state, in the order listed: one thing to do per group."""
        groups: dict[tuple[str, str, str], list[KeptPackage]] = defaultdict(list)
        for package in self.packages:
            groups[(package.machine, package.pipeline_name, package.state)].append(package)
        return list(groups.values())

    def to_json(self) -> str:
        """The plan as JSON; statements include the subject's value."""
        body = {
            "plan_id": self.plan_id,
            "created_at": self.created_at.isoformat(),
            "column_kind": self.column_kind,
            "subject_hash": self.subject_hash,
            "contains_subject_value": True,
            "estimated_rows": self.estimated_rows,
            "steps": [asdict(s) for s in self.steps],
            "not_covered": [asdict(lookalike) for lookalike in self.lookalikes],
            "kept_packages": [{**asdict(p), "what_to_do": p.advice} for p in self.packages],
        }
        return json.dumps(body, indent=2, default=str)

    def to_sql(self, masked: bool = False) -> str:
        """The statements as one SQL file, a transaction per location; other steps as comments.

        `masked` shows the subject as a named parameter (safe to display); otherwise the value is written in.
        """
        lines = [
            f"-- Glasspane deletion plan {self.plan_id} for one data subject (PII kind {self.column_kind}),",
            f"-- made {self.created_at:%Y-%m-%d %H:%M:%S} UTC. Subject hash {self.subject_hash}.",
            "-- The subject's value is shown as a parameter: bind it to run these."
            if masked
            else "-- This file contains the subject's value: handle it like the data itself.",
        ]
        by_location: dict[str, list[Step]] = defaultdict(list)
        for step in self.steps:
            by_location[step.location].append(step)
        for location, steps in by_location.items():
            dialect = next((s.dialect for s in steps if s.dialect), None)
            lines += ["", f"-- {location}" + (f" ({dialect})" if dialect else "")]
            runs = [s for s in steps if s.statement]
            if runs:
                lines.append(_BEGIN.get(dialect or "", "BEGIN;"))
            for step in steps:
                lines.append(f"-- {step.qualified_name}: {step.reason}")
                if step.statement:
                    lines.append(f"{step.masked if masked else step.statement};")
            if runs:
                lines.append(_COMMIT.get(dialect or "", "COMMIT;"))
        for lookalike in self.lookalikes:
            lines.append(
                f"-- not covered: {lookalike.location} {lookalike.dataset_name}.{lookalike.table_name}."
                f"{lookalike.column_name} ({lookalike.reason})"
            )
        if self.packages:
            lines += [
                "",
                "-- Kept load packages: copies of loaded rows in pipeline working folders, not deleted by this SQL.",
            ]
        for group in self.package_groups():
            lines.append(f"-- {group[0].pipeline_name} on {group[0].machine}: {group[0].advice}")
            lines += [f"--   {p.path} ({', '.join(p.tables)})" for p in group]
        return "\n".join(lines) + "\n"
