"""Schema history: a dataset's stored schema versions, the diff between any two, and new columns everywhere."""

import dataclasses
import datetime as dt

import pandas as pd
import streamlit as st

from glasspane.queries import schema as q
from glasspane.ui import charts, components, data, shell, strings, url_state

shell.inside_app()

FEED_DAYS = ["7", "30", "90", "365"]
CHANGES_TABLE = {
    "change": st.column_config.TextColumn("Change"),
    "table_name": st.column_config.TextColumn("Table"),
    "column_name": st.column_config.TextColumn("Column"),
    "before": st.column_config.TextColumn("Before"),
    "after": st.column_config.TextColumn("After", width="large"),
    "pii": st.column_config.CheckboxColumn("PII"),
    "pii_kind": st.column_config.TextColumn("PII kind"),
}

st.title("Schema history")
with components.page_guard():
    components.stop_if_empty()
    schemas = data.query(q.schema_datasets)
    if schemas.empty:
        st.info(strings.SCHEMA_EMPTY)
        st.stop()
    cols = st.columns(3)
    datasets = list(dict.fromkeys(schemas["dataset_name"]))
    with cols[0]:
        dataset = url_state.selectbox("Dataset", datasets, "dataset", datasets[0])
    in_dataset = schemas[schemas["dataset_name"] == dataset]
    names = list(dict.fromkeys(in_dataset["schema_name"]))
    with cols[1]:
        schema = url_state.selectbox("Schema", names, "schema", names[0])
    places = list(dict.fromkeys(in_dataset[in_dataset["schema_name"] == schema]["location"]))
    with cols[2]:
        location = url_state.selectbox("Location", places, "location", places[0])

    versions = data.query(q.version_history, location=location, dataset_name=dataset, schema_name=schema)
    numbers = [str(v) for v in versions["version"]]
    st.altair_chart(charts.schema_versions(versions), width="stretch")
    st.dataframe(
        versions.sort_values("inserted_at", ascending=False), hide_index=True, width="stretch",
        column_order=["version", "inserted_at", "tables", "columns", "pii_columns", "version_hash", "source"],
        column_config={
            "version": st.column_config.NumberColumn("Version"),
            "inserted_at": st.column_config.DatetimeColumn("Stored", format="YYYY-MM-DD HH:mm"),
            "tables": st.column_config.NumberColumn("Tables"), "columns": st.column_config.NumberColumn("Columns"),
            "pii_columns": st.column_config.NumberColumn("PII columns"),
            "version_hash": st.column_config.TextColumn("Hash"), "source": st.column_config.TextColumn("Source"),
        },
    )  # fmt: skip

    st.subheader("Compare two versions")
    if len(numbers) < 2:
        st.caption(strings.SCHEMA_ONE_VERSION)
    else:
        left, right = st.columns(2)
        with left:
            old = url_state.selectbox("From version", numbers, "from", numbers[-2])
        with right:
            new = url_state.selectbox("To version", numbers, "to", numbers[-1])
        hashes = dict(zip(numbers, versions["version_hash"], strict=True))
        changes = data.query(q.diff_versions, location=location, dataset_name=dataset, schema_name=schema,
                             old_hash=hashes[old], new_hash=hashes[new])  # fmt: skip
        if not changes:
            st.caption(strings.SCHEMA_NO_CHANGES)
        else:
            table = pd.DataFrame([dataclasses.asdict(c) for c in changes])
            table["change"] = table["change"].map(strings.CHANGE_LABELS)
            st.dataframe(table, hide_index=True, width="stretch", column_order=list(CHANGES_TABLE),
                         column_config=CHANGES_TABLE)  # fmt: skip

    st.divider()
    days = int(url_state.selectbox("New columns in the last … days", FEED_DAYS, "days", "30") or 30)
    st.subheader(strings.SCHEMA_FEED.format(days=days))
    today = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    feed = data.query(q.new_columns, since=today - dt.timedelta(days=days))
    if feed.empty:
        st.caption(strings.SCHEMA_FEED_EMPTY.format(days=days))
    else:
        st.dataframe(
            feed, hide_index=True, width="stretch",
            column_order=["first_seen_at", "dataset_name", "table_name", "column_name", "data_type", "pii_kind",
                          "root_table", "location", "source"],
            column_config={
                "first_seen_at": st.column_config.DatetimeColumn("First seen", format="distance"),
                "dataset_name": "Dataset", "table_name": "Table", "column_name": "Column", "data_type": "Type",
                "pii_kind": "PII kind", "root_table": "Root table", "location": "Location", "source": "Source",
            },
        )  # fmt: skip
