"""Confirmed PII as dlt column hints a pipeline owner pastes into their pipeline: an import-schema
YAML fragment and `apply_hints` calls, both with dlt's documented `x-annotation-pii` hint."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import yaml

PII_HINT = "x-annotation-pii"


@dataclass(frozen=True)
class HintedColumn:
    """A column to tag: where it lives in its dlt schema and the PII kind."""

    schema_name: str
    table_name: str
    column_name: str
    pii_kind: str
    data_type: str | None = None
    root_table: str | None = None


def _column_hint(column: HintedColumn) -> dict[str, str]:
    hint = {"name": column.column_name}
    if column.data_type:
        hint["data_type"] = column.data_type
    hint[PII_HINT] = column.pii_kind
    return hint


def import_schema_yaml(columns: Iterable[HintedColumn]) -> str:
    """One YAML document per schema, in dlt's import-schema shape (`tables: <t>: columns: <c>: hints`)."""
    schemas: dict[str, dict] = {}
    for column in sorted(columns, key=lambda c: (c.schema_name, c.table_name, c.column_name)):
        tables = schemas.setdefault(column.schema_name, {"tables": {}})["tables"]
        tables.setdefault(column.table_name, {"columns": {}})["columns"][column.column_name] = _column_hint(column)
    parts = [
        f"# {name}.schema.yaml: merge into the import schema of schema '{name}'\n"
        + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
        for name, body in schemas.items()
    ]
    return "\n".join(parts)


def apply_hints_python(columns: Iterable[HintedColumn]) -> str:
    """`apply_hints` calls, one per root table (dlt resources are usually named like their table);
    nested tables (`root__child`) go through `nested_hints`, keyed by their path below the root, with
    every table between the root and a hinted one present (dlt requires it)."""
    roots: dict[tuple[str, str], dict[str, dict]] = {}
    for column in sorted(columns, key=lambda c: (c.schema_name, c.root_table or c.table_name, c.table_name)):
        root = column.root_table or column.table_name
        per_table = roots.setdefault((column.schema_name, root), {})
        per_table.setdefault(column.table_name, {})[column.column_name] = _column_hint(column)
    lines = []
    for (schema_name, root), tables in roots.items():
        lines.append(f"# schema '{schema_name}': the resource that loads table '{root}'")
        arguments = []
        if root in tables:
            arguments.append(f"columns={tables[root]!r}")
        nested: dict[str | tuple[str, ...], dict] = {}
        for table, hinted in sorted(tables.items()):
            if table != root:
                path = tuple(table[len(root) + 2 :].split("__")) if table.startswith(root + "__") else (table,)
                for depth in range(1, len(path)):  # dlt needs every table between the root and a hinted one
                    nested.setdefault(_path_key(path[:depth]), {})
                nested[_path_key(path)] = {"columns": hinted}
        if nested:
            arguments.append(f"nested_hints={nested!r}")
        lines.append(f"{_identifier(root)}.apply_hints(")
        lines += [f"    {argument}," for argument in arguments]
        lines.append(")")
    return "\n".join(lines)


def _path_key(path: tuple[str, ...]) -> str | tuple[str, ...]:
    """dlt's `nested_hints` key: the child's name below the root, or the path of names deeper down."""
    return path[0] if len(path) == 1 else path


def _identifier(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
    return cleaned if cleaned and not cleaned[0].isdigit() else f"resource_{cleaned}"
