"""Deletion plans for one data subject: the exact statements that remove every row holding the subject.

For each dataset and table with a PII column of the chosen kind (hinted, or inherited by a
materialised model), a plan holds the statement in the destination's own dialect (built with
sqlglot), dlt's nested child rows first (linked by `_dlt_root_id` where dlt writes it, else by the
`_dlt_parent_id` chain), then the table itself. Views over those tables are listed as cleared by
deleting the base rows; materialised models get their own statement when a column identifies the
subject (a copy, a hash, a case change of it), else they are listed to be rebuilt.

dlt keeps copies of loaded rows in two more places, which a plan covers too: the staging dataset
(`<dataset>_staging`) where merge loads stage their rows, which gets the same statements (skipped
where it does not exist), and the load packages pipeline working folders keep, which are listed with
what to do (the statements cannot delete files).

Planning needs only metadata from the store (`DeletionTargets`) and the value; nothing here touches a
destination. Counts are estimates from metadata: row counts of past loads, never a scan.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import PurePath

import sqlglot
from sqlglot import exp

from glasspane.dlt_meta import staging_dataset_name

DELETE, DELETE_CHILDREN, CLEARED, REBUILD, NOT_SUPPORTED = (
    "delete", "delete_children", "cleared_by_base_rows", "rebuild", "not_supported"
)  # fmt: skip
STATEMENT_ACTIONS = (DELETE_CHILDREN, DELETE)
NUMERIC_TYPES = ("bigint", "double", "decimal", "wei")
# dlt destination types (and location schemes) whose SQL sqlglot writes.
DIALECTS = {
    "duckdb": "duckdb", "motherduck": "duckdb", "bigquery": "bigquery", "postgres": "postgres",
    "postgresql": "postgres", "redshift": "redshift", "snowflake": "snowflake", "mssql": "tsql",
    "databricks": "databricks", "clickhouse": "clickhouse",
}  # fmt: skip
FILE_SCHEMES = ("file", "s3", "gs", "gcs", "az", "abfs", "abfss", "sftp", "memory", "filesystem")
_BEGIN = {"bigquery": "BEGIN TRANSACTION;", "tsql": "BEGIN TRANSACTION;"}
_COMMIT = {"bigquery": "COMMIT TRANSACTION;", "tsql": "COMMIT TRANSACTION;"}
_PG_SUBJECT = "%(subject)s"  # the named parameter as sqlglot writes it for Postgres (psycopg's style)
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
            return (f"kept after loading: its job files copy the rows it loaded. Delete them (find {self.folder} "
                    f"-path '*_jobs/*' -type f -delete), or the whole local working folder with `dlt pipeline "
                    f"{self.pipeline_name} sync` (it restores state and schemas from the destination); set "
                    "delete_completed_jobs = true under [load] (LOAD__DELETE_COMPLETED_JOBS=true) so dlt stops "
                    "keeping them")  # fmt: skip
        return (f"{self.state}, not loaded yet: the pipeline's next run loads these rows, the subject's too, after "
                f"the statements ran. Let it load them, then execute the plan; or discard them with `dlt pipeline "
                f"{self.pipeline_name} abort-packages`")  # fmt: skip


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
    """A dry-run plan for one data subject; export it, or execute it with `glasspane.deletion_run`."""

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
            lines += ["", "-- Kept load packages: copies of loaded rows in pipeline working folders, not deleted by "
                      "this SQL."]  # fmt: skip
        for group in self.package_groups():
            lines.append(f"-- {group[0].pipeline_name} on {group[0].machine}: {group[0].advice}")
            lines += [f"--   {p.path} ({', '.join(p.tables)})" for p in group]
        return "\n".join(lines) + "\n"


def dialect_for(location: str, destination_type: str | None = None) -> str | None:
    """The sqlglot dialect of a destination, or None when its data lives in files."""
    for name in ((destination_type or "").rsplit(".", 1)[-1], location.split("://", 1)[0]):
        if name.lower() in DIALECTS:
            return DIALECTS[name.lower()]
    return None


def build_plan(targets: DeletionTargets, value: str, subject_hash: str) -> DeletionPlan:
    """The plan that deletes one subject's rows for `targets.column_kind` (a dry run: nothing runs)."""
    steps: list[Step] = []
    matches: dict[tuple[str, str, str], list[MatchColumn]] = defaultdict(list)
    for m in targets.matches:
        matches[(m.location, m.dataset_name, m.table_name)].append(m)
    base: dict[str, set[tuple[str, str]]] = defaultdict(set)  # location -> (dataset, table) rows leave
    for location in sorted({key[0] for key in matches}):
        dialect = dialect_for(location, targets.destination_types.get(location))
        for (loc, dataset, table), columns in sorted(matches.items()):
            if loc != location:
                continue
            tables = targets.tables.get((location, dataset), {})
            table_steps = _base_steps(location, dataset, table, columns, tables, dialect, value, targets.column_kind)
            staging = _staging_for(targets, location, dataset, table) if dialect else None
            if staging:
                table_steps += _base_steps(location, dataset, table, columns, tables, dialect, value,
                                           targets.column_kind, staging)  # fmt: skip
            steps += table_steps
            base[location] |= {(s.dataset_name.lower(), s.table_name.lower()) for s in table_steps}
        steps += _derived_steps(location, targets, base[location], dialect, value)
    return DeletionPlan(
        plan_id=uuid.uuid4().hex,
        created_at=dt.datetime.now(dt.UTC),
        column_kind=targets.column_kind,
        subject_hash=subject_hash,
        steps=steps,
        lookalikes=list(targets.lookalikes),
        packages=_kept_packages(targets, matches),
    )


def _root(table: str, tables: dict[str, TableMeta]) -> str:
    """The root table of a nested table (itself for a root table)."""
    seen = {table}
    while (meta := tables.get(table)) and meta.parent_table and meta.parent_table not in seen:
        table = meta.parent_table
        seen.add(table)
    return table


def _staging_for(targets: DeletionTargets, location: str, dataset: str, table: str) -> StagingDataset | None:
    """The staging dataset holding copies of a table's rows: merge tables load through it, and a collector
    may have listed the table there; None when the table does not use one."""
    tables = targets.tables.get((location, dataset), {})
    listed = targets.staging.get((location, dataset))
    if listed and table in (listed.tables or ()):
        return listed
    root = tables.get(_root(table, tables))
    if root and root.write_disposition == "merge":
        return listed or StagingDataset(staging_dataset_name(dataset))
    return None


def _kept_packages(targets: DeletionTargets, matched: Iterable[tuple[str, str, str]]) -> list[KeptPackage]:
    """The kept packages whose job files hold a matched table or its nested tables, with those tables."""
    holding: dict[tuple[str, str], set[str]] = defaultdict(set)
    for location, dataset, table in matched:
        tables = targets.tables.get((location, dataset), {})
        holding[(location, dataset)] |= {table} | {chain[-1] for chain in _descendant_chains(table, tables)}
    kept = []
    for package in targets.packages:
        tables = tuple(t for t in package.tables if t in holding.get((package.location, package.dataset_name), ()))
        if tables:
            kept.append(replace(package, tables=tables))
    return kept


def _base_steps(
    location: str,
    dataset: str,
    table: str,
    columns: list[MatchColumn],
    tables: dict[str, TableMeta],
    dialect: str | None,
    value: str,
    kind: str,
    staging: StagingDataset | None = None,
) -> list[Step]:
    """Statements for a hinted table: its nested descendants deepest first, then itself; with `staging`,
    the same for dlt's staging copies of them (skipped where they do not exist)."""
    names = ", ".join(c.column_name for c in columns)
    if dialect is None:
        return [Step(location, dataset, table, NOT_SUPPORTED, f"{names}: {_no_sql_reason(location)}")]
    meta = tables.get(table) or TableMeta(table, None, frozenset())
    unique = any(c.unique for c in columns)
    estimate = 1.0
    note = f"1: {names} is unique" if unique else f"at least 1: {names} is not unique here"
    target = staging.dataset_name if staging else dataset
    numeric = all((c.data_type or "") in NUMERIC_TYPES for c in columns)
    match = exp.or_(*[exp.column(c.column_name).eq(_subject()) for c in columns])
    steps = []
    for chain in _descendant_chains(table, tables):
        child = tables[chain[-1]]
        if "_dlt_parent_id" not in child.columns or not all("_dlt_id" in tables[t].columns for t in chain[:-1]):
            reason = f"nested under {table}, but without dlt's _dlt_id/_dlt_parent_id columns to link it"
            if staging is None:  # listed once, for the table itself
                steps.append(Step(location, dataset, child.table_name, NOT_SUPPORTED, reason))
            continue
        condition, how = _link(location, target, chain, tables, meta, match, dialect)
        ast = exp.delete(_table(location, target, child.table_name), where=condition)
        ratio = _ratio(child, meta)
        child_step = Step(location, target, child.table_name, DELETE_CHILDREN, f"nested rows of {table} ({how})",
                          dialect, estimated_rows=None if ratio is None else round(estimate * ratio, 1),
                          estimate_note=f"{ratio:.1f} per {table} row in the loads so far" if ratio is not None
                          else "no row counts collected")  # fmt: skip
        steps.append(_with_statement(_staged(child_step, dataset, staging), ast, value, numeric))
    ast = exp.delete(_table(location, target, table), where=match)
    step = Step(location, target, table, DELETE, f"{names} hinted as {kind} PII in the dlt schema", dialect,
                estimated_rows=estimate, estimate_note=note)  # fmt: skip
    steps.append(_with_statement(_staged(step, dataset, staging), ast, value, numeric))
    return steps


def _staged(step: Step, dataset: str, staging: StagingDataset | None) -> Step:
    """A step on dlt's staging copy of a table: why, whether it was there, skipped when it is not."""
    if staging is None:
        return step
    if staging.tables is None:
        seen = "skipped where it does not exist"
    elif step.table_name in staging.tables:
        seen = "present at the last collect"
    else:
        seen = "not present at the last collect: skipped if still absent"
    hint = " (truncate_staging_dataset = true under [load] empties it after each load)" if step.action == DELETE else ""
    step.reason += f"; in dlt's staging copy of {dataset}.{step.table_name}, kept until the next merge load{hint}"
    step.estimated_rows = None
    step.estimate_note = f"the last merge load's rows, if any; {seen}"
    step.skip_if_absent = True
    return step


def _no_sql_reason(location: str) -> str:
    scheme = location.split("://", 1)[0].lower()
    if scheme in FILE_SCHEMES:
        return ("this destination keeps its data in files, which Glasspane cannot delete rows from; rewrite "
                "the files (or reload the dataset with dlt) without the subject")  # fmt: skip
    if scheme == "local":
        return ("only the pipeline's working folder was collected, so where its data lives is unknown: collect "
                "its destination too")  # fmt: skip
    return f"Glasspane does not write SQL for {scheme} destinations: delete the rows there yourself"


def _descendant_chains(table: str, tables: dict[str, TableMeta]) -> list[tuple[str, ...]]:
    """Paths from `table` to each nested descendant, deepest first (they must be deleted first)."""
    children: dict[str, list[str]] = defaultdict(list)
    for meta in tables.values():
        if meta.parent_table:
            children[meta.parent_table].append(meta.table_name)
    chains: list[tuple[str, ...]] = []
    stack = [(table,)]
    while stack:
        chain = stack.pop()
        for child in sorted(children.get(chain[-1], [])):
            if child not in chain:
                chains.append((*chain, child))
                stack.append((*chain, child))
    return sorted(chains, key=lambda c: (-len(c), c))


def _link(
    location: str,
    dataset: str,
    chain: tuple[str, ...],
    tables: dict[str, TableMeta],
    top: TableMeta,
    match: exp.Expr,
    dialect: str,
) -> tuple[exp.Expr, str]:
    """The condition selecting a descendant's rows under the matched rows of `chain[0]`."""
    child = tables[chain[-1]]
    matched = exp.select("_dlt_id").from_(_table(location, dataset, chain[0])).where(match.copy())
    if top.parent_table is None and "_dlt_root_id" in child.columns:
        return exp.column("_dlt_root_id").isin(query=matched), "by _dlt_root_id"
    condition = matched
    for parent in chain[1:-1]:
        condition = (
            exp.select("_dlt_id")
            .from_(_table(location, dataset, parent))
            .where(exp.column("_dlt_parent_id").isin(query=condition))
        )
    return exp.column("_dlt_parent_id").isin(query=condition), "by the _dlt_parent_id chain"


def _ratio(child: TableMeta, top: TableMeta) -> float | None:
    if child.loaded_rows is None or not top.loaded_rows:
        return None
    return child.loaded_rows / top.loaded_rows


def _derived_steps(
    location: str, targets: DeletionTargets, base: set[tuple[str, str]], dialect: str | None, value: str
) -> list[Step]:
    """Views and models downstream of the tables that lose rows: statements, rebuilds, cleared views."""
    derived: dict[tuple[str, str], list[DerivedColumn]] = defaultdict(list)
    for d in targets.derived:
        if d.location == location:
            derived[(d.dataset_name.lower(), d.table_name.lower())].append(d)
    downstream: dict[tuple[str, str], list[TableEdge]] = defaultdict(list)
    for e in targets.edges:
        if e.location == location:
            downstream[(e.upstream_dataset.lower(), e.upstream_table.lower())].append(e)
    reached: dict[tuple[str, str], tuple[TableEdge, set[str]]] = {}
    frontier = list(base)
    while frontier:
        current = frontier.pop()
        for edge in downstream.get(current, []):
            key = (edge.dataset_name.lower(), edge.table_name.lower())
            if key in base:
                continue
            entry = reached.setdefault(key, (edge, set()))
            entry[1].add(f"{edge.upstream_dataset}.{edge.upstream_table}")
            if len(entry[1]) == 1:
                frontier.append(key)
    models, views = [], []
    for key, (edge, upstream) in sorted(reached.items()):
        sources = ", ".join(sorted(upstream))
        if edge.definition_kind != "model":
            reason = f"a view: cleared by deleting the base rows (reads {sources})"
            views.append(Step(location, edge.dataset_name, edge.table_name, CLEARED, reason))
            continue
        models.append(_model_step(location, edge, derived.get(key, []), sources, dialect, value))
    return models + views


def _model_step(
    location: str, edge: TableEdge, columns: list[DerivedColumn], sources: str, dialect: str | None, value: str
) -> Step:
    """A materialised model: a statement when a column identifies the subject, else a rebuild."""
    dataset, table = edge.dataset_name, edge.table_name
    matchable = [c for c in columns if c.value_expression]
    if dialect is None:
        return Step(location, dataset, table, NOT_SUPPORTED, "a materialised model in a destination of files")
    if not matchable:
        held = ", ".join(sorted({c.column_name for c in columns}))
        reason = (
            f"a materialised model: its {held} derive from the value in a way that does not identify one "
            f"subject (e.g. part of it, or an aggregate); re-run it after the deletes above (reads {sources})"
            if held
            else f"a materialised model built from rows deleted above: re-run it (reads {sources})"
        )
        return Step(location, dataset, table, REBUILD, reason)
    conditions = [exp.column(c.column_name).eq(_over_subject(c.value_expression or "", c.dialect)) for c in matchable]
    names = ", ".join(sorted({c.column_name for c in matchable}))
    origins = ", ".join(sorted({c.inherited_from for c in matchable}))
    reason = f"a materialised model: its {names} identify the subject (from {origins})"
    step = Step(location, dataset, table, DELETE, reason, dialect, estimate_note="a model has no row counts")
    return _with_statement(step, exp.delete(_table(location, dataset, table), where=exp.or_(*conditions)), value)


def _over_subject(value_expression: str, dialect: str) -> exp.Expr:
    """A model column's value expression with its one input column replaced by the subject."""
    parsed = sqlglot.parse_one(value_expression, read=dialect)
    return parsed.transform(lambda n: _subject() if isinstance(n, exp.Column) else n, copy=True)


def _subject() -> exp.Placeholder:
    return exp.Placeholder(this="subject")


def _table(location: str, dataset: str, table: str) -> exp.Table:
    catalog = None
    if location.startswith("bigquery://"):  # bigquery://<project>
        catalog = location.split("://", 1)[1].strip("/") or None
    return exp.table_(table, db=dataset, catalog=catalog)


def _with_statement(step: Step, ast: exp.Expr, value: str, numeric: bool = False) -> Step:
    """Render a statement three ways: exact (the value inlined), masked (a named parameter), executable."""
    dialect = step.dialect or "duckdb"
    literal = exp.Literal.number(value) if numeric and _is_number(value) else exp.Literal.string(value)
    step.masked = ast.sql(dialect=dialect, identify=True)
    step.statement = ast.transform(lambda n: literal.copy() if isinstance(n, exp.Placeholder) else n, copy=True).sql(
        dialect=dialect, identify=True
    )
    step.numeric = literal.is_number
    if dialect == "duckdb":
        positional = ast.transform(lambda n: exp.Placeholder() if isinstance(n, exp.Placeholder) else n, copy=True)
        step.executable = positional.sql(dialect="duckdb", identify=True)
        step.parameters = sum(1 for _ in positional.find_all(exp.Placeholder))
    elif dialect == "bigquery":
        step.executable = step.masked
    elif dialect == "postgres":  # psycopg reads `%` as a placeholder: every other one is doubled
        step.executable = step.masked.replace("%", "%%").replace(f"%{_PG_SUBJECT}", _PG_SUBJECT)
    return step


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True
