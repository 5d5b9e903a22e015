"""Column-level lineage of views and SQL models (with sqlglot), and how personal data flows through it.

Pure functions: definitions and known table columns in, edges and inherited PII out. An edge says
which upstream column a derived column comes from and how:

- `direct`: a plain copy (through any number of CTEs, subqueries and UNION branches);
- `transformed`: any expression over it (`lower(email)`, `concat(...)`, `count(email)`); `hashed`
  is set when a hash function wraps it (`md5`, `sha256`, `farm_fingerprint`...): pseudonymised,
  still personal data;
- `filter`: the definition's rows depend on it through WHERE, JOIN, HAVING or QUALIFY, but no
  column copies it. Filter edges are per table (`column_name` is None).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import islice

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import Node, lineage, to_node
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, ScopeType, build_scope, find_all_in_scope, traverse_scope
from sqlglot.schema import MappingSchema

from glasspane.definition_sql import DefinitionError, error_line, parse_definition

DIRECT, TRANSFORMED, FILTER = "direct", "transformed", "filter"

_HASH_EXPRESSIONS: tuple[type[exp.Expr], ...] = (
    exp.MD5,
    exp.MD5Digest,
    exp.MD5NumberLower64,
    exp.MD5NumberUpper64,
    exp.SHA,
    exp.SHA1Digest,
    exp.SHA2,
    exp.SHA2Digest,
    exp.FarmFingerprint,
    exp.CityHash64,
    exp.StandardHash,
)
_HASH_NAMES = frozenset(
    {
        "hash",
        "xxhash32",
        "xxhash64",
        "murmurhash3_32",
        "murmur_hash",
        "crc32",
        "digest",
        "hmac",
        "sha384",
        "sha512",
        "blake2b",
        "blake3",
        "keccak",
        "fingerprint",
        "md5_hex",
        "sha1_hex",
        "sha2_hex",
        "hash_md5",
    }
)
# Expressions whose output identifies their input: a row can be matched through them by value.
# Anything else (`split_part(email, '@', 2)`, aggregates) could match other subjects' rows too.
_ONE_TO_ONE: tuple[type[exp.Expr], ...] = (
    *_HASH_EXPRESSIONS,
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.DataType,
    exp.Cast,
    exp.TryCast,
    exp.Lower,
    exp.Upper,
    exp.Trim,
    exp.Hex,
    exp.LowerHex,
    exp.ToBase64,
    exp.Concat,
    exp.DPipe,
    exp.Paren,
    exp.Encode,
)
_FILTER_CLAUSES = ("where", "having", "qualify")
MAX_PATHS = 10_000  # root-to-source paths followed per column: bounds pathological SQL (deep diamonds)

TableKey = tuple[str, str]  # (dataset_name, table_name)
ColumnKey = tuple[str, str, str]  # (dataset_name, table_name, column_name)


@dataclass(frozen=True)
class Definition:
    """The SQL of a view or a materialised model, and where it lives."""

    dataset_name: str
    name: str
    kind: str  # VIEW | MODEL (glasspane.definition_sql)
    dialect: str
    sql: str


@dataclass(frozen=True)
class Edge:
    """A derived column (or, for `filter`, a whole derived table) and one upstream column it depends on.

    `expression` is the derived value written over the upstream column alone (`MD5(LOWER(email))`)
    when it is a one-to-one function of that column (a copy, hash, case change, cast), so that rows
    can be matched through it by value; None otherwise.
    """

    dataset_name: str
    table_name: str
    column_name: str | None
    upstream_dataset: str
    upstream_table: str
    upstream_column: str
    kind: str
    hashed: bool = False
    expression: str | None = None


@dataclass
class DefinitionLineage:
    """The output columns and edges of one definition, or why they could not be computed."""

    definition: Definition
    columns: list[str] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    error: str | None = None
    input_key: str = ""  # a hash of everything the result depends on: equal keys, equal results


def referenced_tables(query: exp.Query, default_dataset: str) -> set[TableKey]:
    """The tables and views a query reads (CTE names excluded), as (dataset, table)."""
    ctes = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
    found = set()
    for table in query.find_all(exp.Table):
        if not table.name or (not table.db and table.name.lower() in ctes):
            continue
        found.add(((table.db or default_dataset).lower(), table.name.lower()))
    return found


def location_lineage(
    definitions: Iterable[Definition],
    known_columns: Mapping[TableKey, Sequence[str]],
    previous: Mapping[str, DefinitionLineage] | None = None,
) -> list[DefinitionLineage]:
    """Lineage of every definition of one location, upstream definitions first.

    `known_columns` holds the columns of the location's physical tables (from dlt schemas); the
    output columns of each definition are added as it is computed, so views over views expand
    `SELECT *` too. One definition's failure is recorded on it and never stops the others.
    `previous` results (by `input_key`) are reused for definitions whose SQL and inputs are unchanged.
    """
    known = {(d.lower(), t.lower()): list(cols) for (d, t), cols in known_columns.items()}
    parsed: dict[TableKey, tuple[Definition, exp.Query | None, list[str] | None, str | None]] = {}
    for definition in definitions:
        key = (definition.dataset_name.lower(), definition.name.lower())
        try:
            query, declared = parse_definition(definition.sql, definition.dialect)
            parsed[key] = (definition, query, declared, None)
        except DefinitionError as ex:
            parsed[key] = (definition, None, None, str(ex))
    schemas: dict[str, MappingSchema] = {}
    results = []
    for key in _upstream_first(parsed):
        definition, query, declared, error = parsed[key]
        if query is None:
            results.append(DefinitionLineage(definition, error=error, input_key=_input_key(definition, [], known)))
            continue
        input_key = _input_key(definition, sorted(referenced_tables(query, definition.dataset_name)), known)
        cached = (previous or {}).get(input_key)
        result = replace(cached, definition=definition) if cached else None
        if result is None:
            if definition.dialect not in schemas:
                schemas[definition.dialect] = _schema(known, definition.dialect)
            result = definition_lineage(definition, schemas[definition.dialect], query, declared, known)
            result.input_key = input_key
        if result.error is None:
            known[key] = result.columns
            for schema in schemas.values():
                schema.add_table(exp.table_(key[1], db=key[0]), {c: "TEXT" for c in result.columns})
        results.append(result)
    return results


def _input_key(definition: Definition, reads: list[TableKey], known: Mapping[TableKey, Sequence[str]]) -> str:
    inputs = [definition.dataset_name, definition.name, definition.kind, definition.dialect, definition.sql]
    inputs += [[list(table), list(known.get(table) or [])] for table in reads]
    return hashlib.sha256(json.dumps(inputs).encode()).hexdigest()


def definition_lineage(
    definition: Definition,
    schema: MappingSchema,
    query: exp.Query,
    declared: list[str] | None,
    known: Mapping[TableKey, Sequence[str]],
) -> DefinitionLineage:
    """Edges of one parsed definition, given the columns of what it reads."""
    result = DefinitionLineage(definition)
    try:
        qualified = _qualify(query, definition, schema)
        stars = _unexpanded_stars(qualified, definition.dataset_name)
        if stars is not None:
            missing = ", ".join(sorted({f"{d}.{t}" for d, t in stars if (d, t) not in known})) or "a subquery"
            raise DefinitionError(
                f"SELECT * over a table whose columns are unknown: {missing} (not a collected dlt table or definition)"
            )
        scope = build_scope(qualified)
        if scope is None:
            raise DefinitionError("not a query sqlglot can scope")
        nodes = lineage(
            None, qualified, schema=schema, dialect=definition.dialect, scope=scope, copy=False, trim_selects=False
        )
        names = list(nodes)
        if declared is not None:
            if len(declared) != len(names):
                raise DefinitionError(f"declares {len(declared)} columns but selects {len(names)}")
            nodes = dict(zip(declared, nodes.values(), strict=True))
        result.columns = list(nodes)
        seen: dict[tuple, Edge] = {}
        for column, root in nodes.items():
            for edge in _column_edges(definition, column, root):
                _merge_edge(seen, edge)
        selected = {(e.upstream_dataset, e.upstream_table, e.upstream_column) for e in seen.values()}
        for edge in _filter_edges(definition, qualified, schema):
            if (edge.upstream_dataset, edge.upstream_table, edge.upstream_column) not in selected:
                _merge_edge(seen, edge)  # only a filter: a selected column already says more
        result.edges = list(seen.values())
    except DefinitionError as ex:
        result.error = str(ex)
    except Exception as ex:  # sqlglot's own failures on unusual SQL: recorded, never raised
        result.error = f"sqlglot could not trace it: {type(ex).__name__}: {error_line(ex)}"
    return result


def _schema(known: Mapping[TableKey, Sequence[str]], dialect: str) -> MappingSchema:
    nested: dict[str, dict[str, dict[str, str]]] = {}
    for (dataset, table), columns in known.items():
        nested.setdefault(dataset, {})[table] = {c: "TEXT" for c in columns}
    return MappingSchema(nested, dialect=dialect, normalize=True)


def _qualify(query: exp.Query, definition: Definition, schema: MappingSchema) -> exp.Query:
    query = query.copy()
    for table in query.find_all(exp.Table):
        table.set("catalog", None)  # lineage stays within one location
    qualified = qualify(
        query,
        dialect=definition.dialect,
        schema=schema,
        db=definition.dataset_name,
        validate_qualify_columns=False,
        identify=False,
    )
    for scope in traverse_scope(qualified):  # one unknown table: its bare columns are its own
        tables = [s for s in scope.sources.values() if isinstance(s, exp.Table)]
        if len(scope.sources) == 1 and len(tables) == 1:
            for column in find_all_in_scope(scope.expression, exp.Column):
                if not column.table:
                    column.set("table", exp.to_identifier(tables[0].alias_or_name))
    return qualified


def _unexpanded_stars(query: exp.Query, default_dataset: str) -> set[TableKey] | None:
    """The tables under a `*` that qualify could not expand (their columns are unknown); None if there is none."""
    found: set[TableKey] | None = None
    for scope in traverse_scope(query):
        selects = scope.expression.selects if isinstance(scope.expression, exp.Select) else []
        if any(isinstance(s, exp.Star) or isinstance(s.this, exp.Star) for s in selects):
            found = (found or set()) | {
                ((t.db or default_dataset).lower(), t.name.lower())
                for t in scope.sources.values()
                if isinstance(t, exp.Table)
            }
    return found


def _paths(node: Node, trail: tuple[Node, ...] = ()) -> Iterator[tuple[Node, ...]]:
    """Every root-to-leaf path under a lineage node (callers bound how many they take)."""
    trail = (*trail, node)
    if not node.downstream:
        yield trail
        return
    for child in node.downstream:
        if child in trail:  # defensive: sqlglot's cache can share nodes
            continue
        yield from _paths(child, trail)


def _column_edges(definition: Definition, column: str, root: Node) -> Iterator[Edge]:
    for path in islice(_paths(root), MAX_PATHS):
        leaf = path[-1]
        if not isinstance(leaf.expression, exp.Table):
            continue  # a literal, or a source sqlglot could not resolve
        leaf_column = _leaf_column(leaf)
        if leaf_column is None:
            continue
        kind, hashed, expression = _trace_path(path, leaf_column)
        table = leaf.expression
        yield Edge(
            dataset_name=definition.dataset_name,
            table_name=definition.name,
            column_name=column,
            upstream_dataset=(table.db or definition.dataset_name),
            upstream_table=table.name,
            upstream_column=leaf_column,
            kind=kind,
            hashed=hashed,
            expression=expression.sql(dialect=definition.dialect) if expression is not None else None,
        )


def _leaf_column(leaf: Node) -> str | None:
    return _split_name(leaf.name)[1] or None


@functools.lru_cache(maxsize=65536)
def _split_name(name: str) -> tuple[str, str]:
    """(table, column) of a lineage node's name (`alias.column`, quoted or not); empty strings if unreadable."""
    try:
        column = exp.to_column(name)
    except Exception:
        return "", ""
    return column.table, column.name


def _trace_path(path: tuple[Node, ...], leaf_column: str) -> tuple[str, bool, exp.Expr | None]:
    """How a path transforms its leaf column: (kind, hashed, the value as an expression of the leaf)."""
    kind, hashed = DIRECT, False
    value: exp.Expr | None = exp.column(exp.to_identifier(leaf_column))
    for index in range(len(path) - 2, -1, -1):
        node, child = path[index], path[index + 1]
        if isinstance(node.source, exp.SetOperation):
            continue  # the UNION node itself: its branches carry the expressions
        expression = node.expression.this if isinstance(node.expression, exp.Alias) else node.expression
        refs = _references(expression, child)
        if not isinstance(expression, exp.Column):
            kind = TRANSFORMED
        if any(_under_hash(ref, expression) for ref in refs):
            hashed = True
        value = _substitute(expression, child, value)
    return kind, hashed, value


def _references(expression: exp.Expr, child: Node) -> list[exp.Column]:
    table, name = _split_name(child.name)
    if not name:
        return []
    candidates = [expression] if isinstance(expression, exp.Column) else list(expression.find_all(exp.Column))
    return [c for c in candidates if c.name == name and (not table or c.table == table)]


def _under_hash(node: exp.Expr, top: exp.Expr) -> bool:
    current: exp.Expr | None = node
    while current is not None:
        if isinstance(current, _HASH_EXPRESSIONS):
            return True
        if isinstance(current, exp.Anonymous) and str(current.this).lower() in _HASH_NAMES:
            return True
        if current is top:
            return False
        current = current.parent
    return False


def _substitute(expression: exp.Expr, child: Node, value: exp.Expr | None) -> exp.Expr | None:
    """The expression with its references to `child` replaced by `value`, when it is a one-to-one
    function of that column alone (a copy, a hash, a case change, a cast); None otherwise."""
    if value is None or not _references(expression, child):
        return None
    copied = expression.copy()
    refs = _references(copied, child)
    if len(list(copied.find_all(exp.Column))) != len(refs) or not _one_to_one(copied):
        return None
    if isinstance(copied, exp.Column):
        return value.copy()
    for ref in refs:
        ref.replace(value.copy())
    return copied


def _one_to_one(expression: exp.Expr) -> bool:
    """True when equal outputs mean equal inputs: matching on it cannot hit another subject's rows."""
    for node in expression.walk():
        if isinstance(node, exp.Anonymous):
            if str(node.this).lower() not in _HASH_NAMES:
                return False
        elif not isinstance(node, _ONE_TO_ONE):
            return False
    return True


def _filter_edges(definition: Definition, query: exp.Query, schema: MappingSchema) -> Iterator[Edge]:
    """Upstream columns that decide which rows a definition holds without being selected."""
    for scope in traverse_scope(query):
        select = scope.expression
        columns: list[exp.Column] = []
        if isinstance(select, exp.Select):
            clauses = [select.args.get(name) for name in _FILTER_CLAUSES]
            clauses += [join.args.get("on") for join in select.args.get("joins") or []]
            for clause in clauses:
                if clause is not None:
                    columns += list(find_all_in_scope(clause, exp.Column))
        for column in columns:
            yield from _resolve(definition, scope, column, schema)
        if scope.scope_type == ScopeType.SUBQUERY and _in_filter(select):
            for name in select.named_selects:
                yield from _leaves_as_filters(definition, to_node(name, scope, definition.dialect, schema=schema))


def _in_filter(expression: exp.Expr) -> bool:
    current = expression.parent
    while current is not None:
        if isinstance(current, (exp.Where, exp.Having, exp.Qualify, exp.Join)):
            return True
        if isinstance(current, exp.Select):
            return False
        current = current.parent
    return False


def _resolve(definition: Definition, scope: Scope, column: exp.Column, schema: MappingSchema) -> Iterator[Edge]:
    source = scope.sources.get(column.table)
    if isinstance(source, exp.Table):
        yield _filter_edge(definition, source, column.name)
    elif isinstance(source, Scope) and column.name in source.expression.named_selects:
        yield from _leaves_as_filters(definition, to_node(column.name, source, definition.dialect, schema=schema))


def _leaves_as_filters(definition: Definition, node: Node) -> Iterator[Edge]:
    for path in islice(_paths(node), MAX_PATHS):
        leaf = path[-1]
        name = _leaf_column(leaf)
        if isinstance(leaf.expression, exp.Table) and name:
            yield _filter_edge(definition, leaf.expression, name)


def _filter_edge(definition: Definition, table: exp.Table, column: str) -> Edge:
    return Edge(
        dataset_name=definition.dataset_name,
        table_name=definition.name,
        column_name=None,
        upstream_dataset=table.db or definition.dataset_name,
        upstream_table=table.name,
        upstream_column=column,
        kind=FILTER,
    )


def _merge_edge(seen: dict[tuple, Edge], edge: Edge) -> None:
    """One edge per (column, upstream column): direct only if every path copies, hashed only if every path hashes."""
    key = (edge.column_name, edge.upstream_dataset, edge.upstream_table, edge.upstream_column)
    earlier = seen.get(key)
    if earlier is None:
        seen[key] = edge
        return
    same_value = earlier.expression == edge.expression
    seen[key] = replace(
        earlier,
        kind=DIRECT if earlier.kind == edge.kind == DIRECT else TRANSFORMED,
        hashed=earlier.hashed and edge.hashed,
        expression=earlier.expression if same_value else None,
    )


def _upstream_first(
    parsed: Mapping[TableKey, tuple[Definition, exp.Query | None, list[str] | None, str | None]],
) -> list[TableKey]:
    """Definitions ordered so that each comes after the definitions it reads (cycles: input order)."""
    depends = {
        key: {t for t in referenced_tables(q, d.dataset_name) if t in parsed and t != key} if q is not None else set()
        for key, (d, q, _, _) in parsed.items()
    }
    order: list[TableKey] = []
    done: set[TableKey] = set()
    visiting: set[TableKey] = set()

    def visit(key: TableKey) -> None:
        if key in done or key in visiting:
            return
        visiting.add(key)
        for upstream in sorted(depends[key]):
            visit(upstream)
        visiting.discard(key)
        done.add(key)
        order.append(key)

    for key in parsed:
        visit(key)
    return order


# --- PII propagation --------------------------------------------------------------------------


@dataclass(frozen=True)
class InheritedPII:
    """A derived column that carries a hinted PII column, or (column None) a table filtered on one."""

    dataset_name: str
    table_name: str
    column_name: str | None
    pii_kind: str | None
    relation: str  # DIRECT | TRANSFORMED | FILTER
    pseudonymised: bool
    origin: ColumnKey  # the hinted column
    via: ColumnKey  # the immediate upstream column
    hops: int
    value_expression: str | None  # the derived value over the origin column alone, when it is one


def propagate_pii(
    edges: Iterable[Edge], hinted: Mapping[ColumnKey, str | None], dialect: str | None = None
) -> list[InheritedPII]:
    """Every derived column that copies or transforms a hinted PII column, through any number of hops.

    A copy of a copy stays `direct`; any transformation on the way makes it `transformed`; any hash
    makes it pseudonymised. Tables that only filter or join on a PII column (hinted or inherited)
    are listed with relation `filter` and do not propagate further. `dialect` composes value
    expressions across definitions (None: they are not composed).
    """
    downstream: dict[ColumnKey, list[Edge]] = {}
    for edge in edges:
        key = (edge.upstream_dataset.lower(), edge.upstream_table.lower(), edge.upstream_column.lower())
        downstream.setdefault(key, []).append(edge)
    found: dict[tuple, InheritedPII] = {}
    for origin, pii_kind in hinted.items():
        start: ColumnKey = (origin[0].lower(), origin[1].lower(), origin[2].lower())
        origin_value = _column_sql(origin[2], dialect)
        queue: deque[InheritedPII | None] = deque([None])  # None: the origin itself
        visited = {start}
        while queue:
            current = queue.popleft()
            at = start if current is None else _key(current.dataset_name, current.table_name, current.column_name)
            relation = DIRECT if current is None else current.relation
            hashed = False if current is None else current.pseudonymised
            value = origin_value if current is None else current.value_expression
            hops = 0 if current is None else current.hops
            for edge in downstream.get(at, []):
                via = (edge.upstream_dataset, edge.upstream_table, edge.upstream_column)
                if edge.kind == FILTER:
                    listed = InheritedPII(
                        edge.dataset_name, edge.table_name, None, pii_kind, FILTER, False, origin, via, hops + 1, None
                    )
                    found.setdefault((edge.dataset_name.lower(), edge.table_name.lower(), None, start), listed)
                    continue
                target = _key(edge.dataset_name, edge.table_name, edge.column_name)
                if target in visited:
                    continue
                visited.add(target)
                inherited = InheritedPII(
                    edge.dataset_name,
                    edge.table_name,
                    edge.column_name,
                    pii_kind,
                    DIRECT if relation == DIRECT and edge.kind == DIRECT else TRANSFORMED,
                    hashed or edge.hashed,
                    origin,
                    via,
                    hops + 1,
                    _compose(edge, value, dialect),
                )
                found[(*target, start)] = inherited
                queue.append(inherited)
    return sorted(found.values(), key=lambda i: (i.dataset_name, i.table_name, i.column_name or "", i.origin))


def _key(dataset: str, table: str, column: str | None) -> ColumnKey:
    return (dataset.lower(), table.lower(), (column or "").lower())


def _column_sql(name: str, dialect: str | None) -> str:
    """A column reference as SQL, quoted when its name needs it."""
    return exp.column(exp.to_identifier(name)).sql(dialect=dialect)


def _compose(edge: Edge, value: str | None, dialect: str | None) -> str | None:
    """The edge's expression with its upstream column replaced by `value` (both SQL)."""
    if value is None or edge.expression is None or dialect is None:
        return None
    try:
        outer = sqlglot.parse_one(edge.expression, read=dialect)
        inner = sqlglot.parse_one(value, read=dialect)
    except SqlglotError:
        return None
    composed = outer.transform(
        lambda n: inner.copy() if isinstance(n, exp.Column) and n.name == edge.upstream_column else n, copy=True
    )
    return composed.sql(dialect=dialect)
