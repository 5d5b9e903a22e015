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
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace

import sqlglot
from sqlglot import exp

from glasspane.dlt_meta import staging_dataset_name
from glasspane.governance.deletion.model import (
    CLEARED,
    DELETE,
    DELETE_CHILDREN,
    NOT_SUPPORTED,
    REBUILD,
    DeletionPlan,
    DeletionTargets,
    DerivedColumn,
    KeptPackage,
    MatchColumn,
    StagingDataset,
    Step,
    TableEdge,
    TableMeta,
)

NUMERIC_TYPES = ("bigint", "double", "decimal", "wei")
# dlt destination types (and location schemes) whose SQL sqlglot writes.
DIALECTS = {
    "duckdb": "duckdb",
    "motherduck": "duckdb",
    "bigquery": "bigquery",
    "postgres": "postgres",
    "postgresql": "postgres",
    "redshift": "redshift",
    "snowflake": "snowflake",
    "mssql": "tsql",
    "databricks": "databricks",
    "clickhouse": "clickhouse",
}
FILE_SCHEMES = ("file", "s3", "gs", "gcs", "az", "abfs", "abfss", "sftp", "memory", "filesystem")
_PG_SUBJECT = "%(subject)s"  # the named parameter as sqlglot writes it for Postgres (psycopg's style)


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
                table_steps += _base_steps(
                    location, dataset, table, columns, tables, dialect, value, targets.column_kind, staging
                )
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
        child_step = Step(
            location,
            target,
            child.table_name,
            DELETE_CHILDREN,
            f"nested rows of {table} ({how})",
            dialect,
            estimated_rows=None if ratio is None else round(estimate * ratio, 1),
            estimate_note=f"{ratio:.1f} per {table} row in the loads so far"
            if ratio is not None
            else "no row counts collected",
        )
        steps.append(_with_statement(_staged(child_step, dataset, staging), ast, value, numeric))
    ast = exp.delete(_table(location, target, table), where=match)
    step = Step(
        location,
        target,
        table,
        DELETE,
        f"{names} hinted as {kind} PII in the dlt schema",
        dialect,
        estimated_rows=estimate,
        estimate_note=note,
    )
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
        return (
            "this destination keeps its data in files, which Glasspane cannot delete rows from; rewrite "
            "the files (or reload the dataset with dlt) without the subject"
        )
    if scheme == "local":
        return (
            "only the pipeline's working folder was collected, so where its data lives is unknown: collect "
            "its destination too"
        )
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
