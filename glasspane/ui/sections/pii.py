"""PII sections: the filters and counts, every PII column, suspected ones to decide, and hints to export."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from glasspane import access
from glasspane.formatting import plural, thousands
from glasspane.governance.pii_hints import HintedColumn, apply_hints_python, import_schema_yaml
from glasspane.queries import pii as q
from glasspane.store.pii_decisions import DecidedColumn, record_decisions
from glasspane.ui import access as door
from glasspane.ui import charts, data, strings, url_state
from glasspane.ui.tables import Col, detail, selected_row, show

INVENTORY = {
    "dataset_name": Col("Dataset", width=100),
    "table_name": Col("Table", width=140),
    "column_name": Col("Column", width=140),
    "pii_kind": Col("PII kind", width=110),
    "basis": Col("Basis", width=90, help=strings.PII_BASIS_HELP),
    "note": Col("How", width=300),
}
SUSPECTED = {
    "dataset_name": Col("Dataset", width=100),
    "table_name": Col("Table", width=140),
    "column_name": Col("Column", width=140),
    "suspected_kind": Col("Looks like", width=100),
    "reason": Col("Why suspected", width=300),
    "decision": Col("Decision", "status", width=100),
}
COLUMN_DETAIL = {
    "note": Col("How"),
    "reason": Col("Why suspected"),
    "root_table": Col("Root table"),
    "data_type": Col("Type"),
    "first_seen_at": Col("First seen", "time"),
    "decided_by": Col("Decided by"),
    "decided_at": Col("Decided", "time"),
    "source": Col("Source"),
    "location": Col("Location", "location"),
}


def filters() -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """Source, dataset and kind, kept in the URL; the PII columns and suspected ones they keep, and whether the
    store has any PII column at all."""
    everything = data.query(q.pii_inventory)
    options = q.filter_options(everything)
    cols = st.columns(3)
    with cols[0]:
        sources = url_state.multiselect("Source", options["source"], "source")
    with cols[1]:
        datasets = url_state.multiselect("Dataset", options["dataset_name"], "dataset")
    with cols[2]:
        kinds = url_state.multiselect("PII kind", options["pii_kind"], "kind")
    inventory = q.narrow(everything, source=sources, dataset_name=datasets, pii_kind=kinds)
    suspected = q.narrow(data.query(q.suspected_columns), source=sources, dataset_name=datasets)
    return inventory, suspected, bool(options["dataset_name"])


def counts(inventory: pd.DataFrame, suspected: pd.DataFrame) -> None:
    """PII columns by basis, and suspected ones not decided yet."""
    metrics = st.columns(5)
    metrics[0].metric("PII columns", thousands(len(inventory)), border=True)
    for col, basis in zip(metrics[1:4], ("hint", "inherited", "confirmed"), strict=True):
        col.metric(strings.PII_BASIS[basis], thousands((inventory["basis"] == basis).sum()), border=True)
    metrics[4].metric("Suspected, undecided", thousands(suspected["decision"].isna().sum()), border=True)


def inventory_table(inventory: pd.DataFrame, any_pii: bool) -> None:
    """Every PII column matching the filters, a selected one's detail, its CSV, and counts per source and kind."""
    if inventory.empty:
        st.info(strings.PII_NO_MATCH if any_pii else strings.PII_EMPTY)
        return
    st.caption(strings.PII_CAPTION)
    row = selected_row(show(inventory, INVENTORY, key="pii_inventory", select="single-row"), inventory)
    if row is not None:
        detail(row, COLUMN_DETAIL)
    csv = inventory.to_csv(index=False)  # the filtered view, small: ready before the click, no rerun needed
    st.download_button(strings.DOWNLOAD_CSV, csv, "pii_columns.csv", "text/csv", on_click="ignore")
    left, right = st.columns(2)
    for place, field, title in ((left, "source", "Per source"), (right, "pii_kind", "Per kind")):
        per = inventory.fillna({field: "(no kind)"}).groupby(field).size().reset_index(name="columns")
        place.altair_chart(charts.counts_bar(per, field, title), width="stretch")


def suspected_table(suspected: pd.DataFrame) -> None:
    """Untagged columns whose names look personal; confirm or dismiss the selected ones."""
    st.subheader(strings.PII_SUSPECTED)
    if suspected.empty:
        st.caption(strings.PII_SUSPECTED_NONE)
        return
    st.caption(strings.PII_SUSPECTED_CAPTION)
    decided = st.session_state.get("pii_decided_runs", 0)  # a new table after each decision: nothing left ticked
    key = "suspected_table" if not decided else f"suspected_table_{decided}"
    event = show(suspected, SUSPECTED, key=key, select="multi-row")
    chosen = suspected.iloc[event.selection.rows] if event and event.selection.rows else suspected.iloc[0:0]
    _, confirm_col, dismiss_col = st.columns([3, 1, 1], vertical_alignment="bottom")
    decision = None
    if confirm_col.button(strings.PII_CONFIRM, type="primary", width="stretch"):
        decision = "confirmed"
    if dismiss_col.button(strings.PII_DISMISS, width="stretch"):
        decision = "not_pii"
    if decision and chosen.empty:
        st.warning(strings.PII_SELECT_FIRST)
    elif decision and (visitor := door.allow(access.DECIDE_PII)) is not None:
        columns = [
            DecidedColumn(r.location, r.dataset_name, r.table_name, r.column_name, r.suspected_kind)
            for r in chosen.itertuples()
        ]
        record_decisions(data.current_store(), columns, decision, visitor.who or "")
        st.session_state["pii_flash"] = strings.PII_DECIDED.format(
            count=plural(len(chosen), "decision"), decision=decision
        )
        st.session_state["pii_decided_runs"] = decided + 1
        st.rerun()
    if not chosen.empty:
        detail(chosen.iloc[0], COLUMN_DETAIL)


def export(inventory: pd.DataFrame) -> None:
    """Confirmed PII as dlt hints: an import schema (YAML) or `apply_hints` (Python), to paste or download."""
    st.subheader(strings.PII_EXPORT)
    confirmed = inventory[inventory["basis"] == "confirmed"]
    if confirmed.empty:
        st.caption(strings.PII_EXPORT_NONE)
        return
    st.caption(strings.PII_EXPORT_CAPTION)
    hinted = [
        HintedColumn(r.schema_name, r.table_name, r.column_name, r.pii_kind, r.data_type, r.root_table)
        for r in confirmed.itertuples()
    ]
    yaml_tab, python_tab = st.tabs(["Import schema (YAML)", "apply_hints (Python)"])
    snippet = import_schema_yaml(hinted)
    yaml_tab.code(snippet, language="yaml")
    yaml_tab.download_button("Download YAML", snippet, "pii_hints.schema.yaml", "application/yaml")
    code = apply_hints_python(hinted)
    python_tab.code(code, language="python")
    python_tab.download_button("Download Python", code, "pii_hints.py", "text/x-python")
