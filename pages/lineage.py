"""Lineage: a column's upstream and downstream graph, bounded to N hops; inherited PII and PII filters."""

import streamlit as st

from glasspane.formatting import literal
from glasspane.queries import governance as gq
from glasspane.queries import lineage as q
from glasspane.ui import components, data, shell, strings, url_state
from glasspane.ui.lineage_graph import to_dot

shell.inside_app()

HOPS = ["1", "2", "3", "4", "5"]
EDGE_TABLE = {
    "from_column": "From",
    "to_column": "To",
    "kind": "Kind",
    "hashed": "Hashed",
    "expression": st.column_config.TextColumn("Expression", width="large"),
    "depth": "Hops",
}
WIDE_GRAPH = 6  # nodes: smaller graphs keep their natural size


st.title("Lineage")
with components.page_guard():
    summary = data.query(q.definitions_summary)
    if not summary["definitions"]:
        st.info(strings.LINEAGE_EMPTY)
        st.stop()
    columns = data.query(q.lineage_columns)
    if columns.empty:
        st.info(strings.LINEAGE_NO_EDGES)
        st.stop()
    cols = st.columns([3, 3, 2, 1])
    locations = list(dict.fromkeys(columns["location"]))
    with cols[0]:
        location = url_state.selectbox("Location", locations, "loc", locations[0])
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

    edges = data.query(q.neighbourhood, location=location, dataset_name=dataset_name, table_name=table_name,
                       column_name=column, hops=hops)  # fmt: skip
    if edges.empty:
        st.info(strings.LINEAGE_ISOLATED.format(hops=hops))
    else:
        marks = data.query(q.pii_marks, location=location)
        dot, hidden = to_dot(
            edges, (dataset_name, table_name, column), marks, data.query(q.table_kinds, location=location)
        )
        st.graphviz_chart(dot, width="stretch" if dot.count(" [label=") > WIDE_GRAPH else "content")
        st.caption(strings.LINEAGE_CAPTION)
        if hidden:
            st.caption(strings.LINEAGE_TRUNCATED.format(hidden=hidden))
        for direction, title in (("upstream", "Upstream"), ("downstream", "Downstream")):
            part = edges[edges["direction"] == direction]
            if not part.empty:
                st.markdown(f"**{title}** of {literal(table)}.{literal(column)}")
                st.dataframe(part, hide_index=True, width="stretch", column_order=list(EDGE_TABLE),
                             column_config=EDGE_TABLE)  # fmt: skip

    st.divider()
    st.subheader("Inherited PII")
    st.caption(strings.INHERITED_PII_CAPTION)
    inherited = data.query(gq.inherited_pii_rows)
    st.dataframe(
        inherited, hide_index=True, width="stretch",
        column_order=["dataset_name", "table_name", "column_name", "pii_kind", "relation", "pseudonymised", "note",
                      "definition_kind", "location"],
        column_config={"dataset_name": "Dataset", "table_name": "Table", "column_name": "Column",
                       "pii_kind": "PII kind", "relation": "Relation", "pseudonymised": "Pseudonymised",
                       "note": st.column_config.TextColumn("Inherited", width="large"),
                       "definition_kind": "Is a", "location": "Location"},
    )  # fmt: skip
    filters = data.query(gq.pii_filters)
    if not filters.empty:
        st.subheader("Filtered or joined on PII")
        st.caption(strings.PII_FILTERS_CAPTION)
        st.dataframe(
            filters, hide_index=True, width="stretch",
            column_order=["dataset_name", "table_name", "pii_kind", "filtered_on", "inherited_from", "definition_kind"],
            column_config={"dataset_name": "Dataset", "table_name": "Table", "pii_kind": "PII kind",
                           "filtered_on": "Filtered on", "inherited_from": "PII from", "definition_kind": "Is a"},
        )  # fmt: skip
    problems = data.query(q.definition_problems)
    if not problems.empty:
        st.warning(strings.LINEAGE_PROBLEMS.format(count=len(problems)))
        st.dataframe(
            problems, hide_index=True, width="stretch",
            column_order=["dataset_name", "name", "kind", "lineage_error", "origin", "source"],
            column_config={"dataset_name": "Dataset", "name": "Name", "kind": "Is a",
                           "lineage_error": st.column_config.TextColumn("Why", width="large"),
                           "origin": "Read from", "source": "Source"},
        )  # fmt: skip
