"""PII: every personal-data column across every source, suspected untagged ones, and hints to export."""

import streamlit as st

from glasspane import access
from glasspane.formatting import thousands
from glasspane.governance.pii_hints import HintedColumn, apply_hints_python, import_schema_yaml
from glasspane.queries import pii as q
from glasspane.store.pii_decisions import DecidedColumn, record_decisions
from glasspane.ui import access as door
from glasspane.ui import charts, components, data, shell, strings, url_state

shell.inside_app()

INVENTORY_TABLE = {
    "dataset_name": "Dataset", "table_name": "Table", "column_name": "Column", "pii_kind": "PII kind",
    "basis": st.column_config.TextColumn("Basis", help="hint, confirmed or inherited"),
    "note": st.column_config.TextColumn("How", width="medium"),
    "root_table": st.column_config.TextColumn("Root table", help="Where a row's data starts"), "data_type": "Type",
    "first_seen_at": st.column_config.DatetimeColumn("First seen", format="YYYY-MM-DD"),
    "source": "Source", "location": "Location",
}  # fmt: skip
SUSPECTED_TABLE = {
    "dataset_name": "Dataset", "table_name": "Table", "column_name": "Column", "suspected_kind": "Looks like",
    "reason": st.column_config.TextColumn("Why suspected", width="medium"), "data_type": "Type",
    "root_table": "Root table", "decision": "Decision", "decided_by": "Decided by",
    "decided_at": st.column_config.DatetimeColumn("Decided", format="distance"), "location": "Location",
}  # fmt: skip


st.title("PII")
with components.page_guard():
    if flash := st.session_state.pop("pii_flash", None):
        st.success(flash)
    components.stop_if_empty()
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
    open_suspicions = suspected[suspected["decision"].isna()]

    metrics = st.columns(5)
    metrics[0].metric("PII columns", thousands(len(inventory)), border=True)
    for col, basis in zip(metrics[1:4], ("hint", "inherited", "confirmed"), strict=True):
        col.metric(strings.PII_BASIS[basis], thousands((inventory["basis"] == basis).sum()), border=True)
    metrics[4].metric("Suspected, undecided", thousands(len(open_suspicions)), border=True)

    if inventory.empty:
        st.info(strings.PII_NO_MATCH if options["dataset_name"] else strings.PII_EMPTY)
    else:
        st.caption(strings.PII_CAPTION)
        st.dataframe(inventory, hide_index=True, width="stretch", column_order=list(INVENTORY_TABLE),
                     column_config=INVENTORY_TABLE)  # fmt: skip
        st.download_button(strings.DOWNLOAD_CSV, lambda: inventory.to_csv(index=False), "pii_columns.csv",
                           "text/csv")  # written when clicked, not on every run  # fmt: skip
        left, right = st.columns(2)
        for place, field, title in ((left, "source", "Per source"), (right, "pii_kind", "Per kind")):
            counts = inventory.fillna({field: "(no kind)"}).groupby(field).size().reset_index(name="columns")
            place.altair_chart(charts.counts_bar(counts, field, title), width="stretch")

    st.subheader(strings.PII_SUSPECTED)
    if suspected.empty:
        st.caption(strings.PII_SUSPECTED_NONE)
    else:
        st.caption(strings.PII_SUSPECTED_CAPTION)
        event = st.dataframe(suspected, hide_index=True, width="stretch", column_order=list(SUSPECTED_TABLE),
                             column_config=SUSPECTED_TABLE, on_select="rerun", selection_mode="multi-row",
                             key="suspected_table")  # fmt: skip
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
            decided = [DecidedColumn(r.location, r.dataset_name, r.table_name, r.column_name, r.suspected_kind)
                       for r in chosen.itertuples()]  # fmt: skip
            record_decisions(data.current_store(), decided, decision, visitor.who or "")
            st.session_state["pii_flash"] = strings.PII_DECIDED.format(count=len(chosen), decision=decision)
            st.rerun()

    st.subheader(strings.PII_EXPORT)
    confirmed = inventory[inventory["basis"] == "confirmed"]
    if confirmed.empty:
        st.caption(strings.PII_EXPORT_NONE)
    else:
        st.caption(strings.PII_EXPORT_CAPTION)
        hinted = [HintedColumn(r.schema_name, r.table_name, r.column_name, r.pii_kind, r.data_type, r.root_table)
                  for r in confirmed.itertuples()]  # fmt: skip
        yaml_tab, python_tab = st.tabs(["Import schema (YAML)", "apply_hints (Python)"])
        snippet = import_schema_yaml(hinted)
        yaml_tab.code(snippet, language="yaml")
        yaml_tab.download_button("Download YAML", snippet, "pii_hints.schema.yaml", "application/yaml")
        code = apply_hints_python(hinted)
        python_tab.code(code, language="python")
        python_tab.download_button("Download Python", code, "pii_hints.py", "text/x-python")
