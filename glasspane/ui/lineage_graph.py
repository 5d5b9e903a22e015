"""A column's lineage neighbourhood as a Graphviz DOT graph: columns grouped by table, PII coloured."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from glasspane.ui.dot import quote

# Fill colours: hinted PII, inherited PII, pseudonymised (hashed) PII.
HINTED, INHERITED, PSEUDONYMISED = "#fecaca", "#fed7aa", "#e9d5ff"
EDGE_STYLES = {"direct": "solid", "transformed": "dashed", "filter": "dotted"}
MAX_EDGES = 150  # wide tables stay readable: nearest edges first

Node = tuple[str, str, str | None]  # (dataset, table, column); column None: the table's rows


def to_dot(
    edges: pd.DataFrame,
    focus: Node,
    pii: pd.DataFrame,
    table_kinds: Mapping[tuple[str, str], str],
    max_edges: int = MAX_EDGES,
) -> tuple[str, int]:
    """The DOT text of `edges` (from `queries.lineage.neighbourhood`), and how many edges were left out."""
    shown = edges.sort_values("depth", kind="stable").head(max_edges)
    marks: dict[Node, tuple[str, bool, bool]] = {}
    for row in pii.itertuples():
        key = (row.dataset_name, row.table_name, row.column_name)
        hinted_before = marks.get(key, (row.pii_kind, False, False))[1]
        marks[key] = (row.pii_kind, hinted_before or not row.inherited, bool(row.pseudonymised))
    nodes: dict[Node, str] = {focus: "n0"}
    links = []
    for row in shown.itertuples():
        source = (row.upstream_dataset, row.upstream_table, row.upstream_column)
        target = (row.dataset_name, row.table_name, row.column_name if isinstance(row.column_name, str) else None)
        for node in (source, target):
            nodes.setdefault(node, f"n{len(nodes)}")
        label = "hashed" if row.hashed else ("" if row.kind == "direct" else row.kind)
        style = f"style={EDGE_STYLES.get(row.kind, 'solid')}" + (f", label={quote(label)}" if label else "")
        links.append(f"  {nodes[source]} -> {nodes[target]} [{style}];")
    lines = [
        "digraph lineage {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="sans-serif", fontsize=11];',
        '  edge [fontname="sans-serif", fontsize=9, color="#64748b"];',
    ]
    tables: dict[tuple[str, str], list[Node]] = {}
    for node in nodes:
        tables.setdefault((node[0], node[1]), []).append(node)
    for index, ((dataset, table), members) in enumerate(sorted(tables.items())):
        kind = table_kinds.get((dataset, table), "dlt table")
        lines.append(f"  subgraph cluster_{index} {{")
        lines.append(f'    label={quote(f"{dataset}.{table} ({kind})")}; style=rounded; color="#cbd5e1";')
        for node in sorted(members, key=lambda n: n[2] or ""):
            lines.append(f"    {nodes[node]} [{_attributes(node, focus, marks)}];")
        lines.append("  }")
    lines += links
    lines.append("}")
    return "\n".join(lines), len(edges) - len(shown)


def _attributes(node: Node, focus: Node, marks: Mapping[Node, tuple[str, bool, bool]]) -> str:
    column = node[2]
    label = column if column is not None else "(rows: filter or join)"
    attributes = []
    mark = marks.get(node)
    if mark:
        kind, hinted, pseudonymised = mark
        label += f"\nPII: {kind}" + (" (hashed)" if pseudonymised and not hinted else "")
        colour = HINTED if hinted else (PSEUDONYMISED if pseudonymised else INHERITED)
        attributes.append(f'fillcolor="{colour}"')
    if column is None:
        attributes.append('shape=note, style="filled", fillcolor="#f1f5f9"')
    if node == focus:
        attributes.append('penwidth=2.5, color="#2563eb"')
    return ", ".join([f"label={quote(label)}", *attributes])
