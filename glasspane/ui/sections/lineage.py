"""Lineage sections: which column, its neighbourhood graph and edges, inherited PII, and untraced definitions."""

from __future__ import annotations

import streamlit as st

from glasspane.formatting import literal, plural
from glasspane.queries import governance as gq
from glasspane.queries import lineage as q
from glasspane.ui import data, strings, url_state
from glasspane.ui.lineage_graph import to_dot
from glasspane.ui.tables import Col, detail, selected_row, short_location, show

HOPS = ["1", "2", "3", "4", "5"]
WIDE_GRAPH = 6  # nodes: smaller graphs keep their natural size
EDGES = {
    "from_column": Col("From", width=230),
    "to_column": Col("To", width=230),
    "kind": Col("Kind", width=100),
    "hashed": Col("Hashed", "check", width=70),
    "expression": Col("Expression", width=230),
    "depth": Col("Hops", "count", width=60),
}
INHERITED = {
    "dataset_name": Col("Dataset", width=100),
    "table_name": Col("Table", width=150),
    "column_name": Col("Column", width=130),
    "pii_kind": Col("PII kind", width=100),
    "pseudonymised": Col("Pseudonymised", "check", width=110),
    "note": Col("Inherited", width=300),
}
INHERITED_DETAIL = {
    "note": Col("Inherited"),
    "relation": Col("Relation"),
    "definition_kind": Col("Is a"),
    "location": Col("Location", "location"),
}
FILTERS = {
    "dataset_name": Col("Dataset", width=100),
    "table_name": Col("Table", width=160),
    "pii_kind": Col("PII kind", width=100),
    "filtered_on": Col("Filtered on", width=230),
    "inherited_from": Col("PII from", width=230),
    "definition_kind": Col("Is a", width=90),
}
PROBLEMS = {
    "dataset_name": Col("Dataset", width=100),
    "name": Col("Name", width=160),
    "kind": Col("Is a", width=80),
    "lineage_error": Col("Why", "error", width=380),
    "source": Col("Source", width=150),
}


def choice(columns) -> dict:
    """Location, table, column and hops, all kept in the URL."""
    cols = st.columns([3, 3, 2, 1])
    locations = list(dict.fromkeys(columns["location"]))
    with cols[0]:
        location = url_state.selectbox("Location", locations, "loc", locations[0], short_location)
    here = columns[columns["location"] == location]
    tables = list(dict.fromkeys(here["dataset_name"] + "." + here["table_name"]))
    with cols[1]:
        table = url_state.selectbox("Table", tables, "table", tables[0])
    dataset_name, table_name = table.split(".", 1)
    in_table = here[(here["dataset_name"] == dataset_name) & (here["table_name"] == table_name)]
    names = list(in_table["column_name"])
    with cols[2]:
        column = url_state.selectbox("Column", names, "column", names[0])
    with cols[3]:
        hops = int(url_state.selectbox("Hops", HOPS, "hops", "2") or 2)
    return {
        "location": location,
        "dataset_name": dataset_name,
        "table_name": table_name,
        "column_name": column,
        "hops": hops,
    }


def neighbourhood(chosen: dict) -> None:
    """The column's lineage graph within the chosen hops, and its upstream and downstream edges."""
    edges = data.query(q.neighbourhood, **chosen)
    if edges.empty:
        st.info(strings.LINEAGE_ISOLATED.format(hops=chosen["hops"]))
        return
    location = chosen["location"]
    focus = (chosen["dataset_name"], chosen["table_name"], chosen["column_name"])
    marks, kinds = data.query(q.pii_marks, location=location), data.query(q.table_kinds, location=location)
    dot, hidden = to_dot(edges, focus, marks, kinds)
    st.graphviz_chart(dot, width="stretch" if dot.count(" [label=") > WIDE_GRAPH else "content")
    st.caption(strings.LINEAGE_CAPTION)
    if hidden:
        st.caption(strings.LINEAGE_TRUNCATED.format(hidden=hidden))
    table = f"{literal(chosen['dataset_name'])}.{literal(chosen['table_name'])}"
    for direction, title in (("upstream", "Upstream"), ("downstream", "Downstream")):
        part = edges[edges["direction"] == direction]
        if not part.empty:
            st.markdown(f"**{title}** of {table}.{literal(chosen['column_name'])}")
            show(part, EDGES)


def inherited_pii() -> None:
    """Columns of views and models that carry PII from upstream; tables filtered or joined on PII."""
    st.divider()
    st.subheader(strings.INHERITED_PII)
    st.caption(strings.INHERITED_PII_CAPTION)
    inherited = data.query(gq.inherited_pii_rows)
    row = selected_row(show(inherited, INHERITED, key="inherited_table", select="single-row"), inherited)
    if row is not None:
        detail(row, INHERITED_DETAIL)
    filters = data.query(gq.pii_filters)
    if not filters.empty:
        st.subheader(strings.PII_FILTERS)
        st.caption(strings.PII_FILTERS_CAPTION)
        show(filters, FILTERS)


def problems() -> None:
    """Definitions whose lineage could not be traced, and why."""
    found = data.query(q.definition_problems)
    if not found.empty:
        st.warning(strings.LINEAGE_PROBLEMS.format(definitions=plural(len(found), "definition")))
        show(found, PROBLEMS)
