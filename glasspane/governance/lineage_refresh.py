"""The lineage tables derived from a store's definitions and columns: each definition's status, the column
edges, and the PII inherited downstream. Pure: the store reads the inputs and stores what this returns."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from glasspane.definition_sql import VIEW
from glasspane.governance.lineage import (
    ColumnKey,
    Definition,
    DefinitionLineage,
    InheritedPII,
    TableKey,
    location_lineage,
    propagate_pii,
)


@dataclass
class LineageTables:
    """Rows for `raw.definition_status`, `raw.column_lineage` and `raw.inherited_pii`."""

    statuses: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    inherited: list[dict[str, Any]] = field(default_factory=list)


def derive_lineage(
    definitions: Mapping[str, Sequence[Definition]],
    known: Mapping[str, Mapping[TableKey, Sequence[str]]],
    hinted: Mapping[str, Mapping[ColumnKey, str | None]],
    previous: Mapping[str, Mapping[str, DefinitionLineage]],
) -> LineageTables:
    """The lineage tables of every location's definitions, given the columns dlt knows, the PII columns,
    and the previous results by input key (reused for definitions whose inputs did not change)."""
    tables = LineageTables()
    for location, defs in definitions.items():
        kinds = {(d.dataset_name.lower(), d.name.lower()): d.kind for d in defs}
        dialect = Counter(d.dialect for d in defs).most_common(1)[0][0]
        results = location_lineage(defs, known.get(location, {}), previous.get(location))
        location_edges = [e for r in results for e in r.edges]
        tables.statuses += [_status_row(location, r) for r in results]
        for e in location_edges:
            kind = kinds.get((e.dataset_name.lower(), e.table_name.lower()), VIEW)
            tables.edges.append({**dataclasses.asdict(e), "location": location, "definition_kind": kind})
        for i in propagate_pii(location_edges, hinted.get(location, {}), dialect):
            kind = kinds.get((i.dataset_name.lower(), i.table_name.lower()), VIEW)
            tables.inherited.append(_inherited_row(location, i, kind))
    return tables


def _status_row(location: str, result: DefinitionLineage) -> dict[str, Any]:
    d = result.definition
    return {
        "location": location,
        "dataset_name": d.dataset_name,
        "name": d.name,
        "kind": d.kind,
        "columns": result.columns,
        "error": result.error,
        "input_key": result.input_key,
    }


def _inherited_row(location: str, i: InheritedPII, definition_kind: str) -> dict[str, Any]:
    return {
        "location": location,
        "dataset_name": i.dataset_name,
        "table_name": i.table_name,
        "column_name": i.column_name,
        "pii_kind": i.pii_kind,
        "relation": i.relation,
        "pseudonymised": i.pseudonymised,
        "origin_dataset": i.origin[0],
        "origin_table": i.origin[1],
        "origin_column": i.origin[2],
        "via_dataset": i.via[0],
        "via_table": i.via[1],
        "via_column": i.via[2],
        "hops": i.hops,
        "value_expression": i.value_expression,
        "definition_kind": definition_kind,
    }
