"""Schema history sections: which schema, its stored versions, the diff between two, and new columns."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import streamlit as st

from glasspane.queries import schema as q
from glasspane.ui import charts, data, strings, url_state
from glasspane.ui.tables import Col, short_location, show

FEED_DAYS = ["7", "30", "90", "365"]
VERSIONS = {
    "version": Col("Version", width=80),
    "inserted_at": Col("Stored", "time"),
    "tables": Col("Tables", "count"),
    "columns": Col("Columns", "count"),
    "pii_columns": Col("PII columns", "count", width=100),
    "version_hash": Col("Hash", width=230),
    "source": Col("Source", width=150),
}
CHANGES = {
    "change": Col("Change", width=130),
    "table_name": Col("Table", width=150),
    "column_name": Col("Column", width=150),
    "before": Col("Before", width=150),
    "after": Col("After", width=160),
    "pii": Col("PII", "check", width=50),
    "pii_kind": Col("PII kind", width=130),
}
FEED = {
    "first_seen_at": Col("First seen", "ago"),
    "dataset_name": Col("Dataset", width=100),
    "table_name": Col("Table", width=140),
    "column_name": Col("Column", width=140),
    "data_type": Col("Type", width=90),
    "pii_kind": Col("PII kind", width=110),
    "location": Col("Location", "location", help=strings.LOCATION_HELP),
}


def choice() -> dict | None:
    """Dataset, schema and location, all kept in the URL; None when no schema is stored yet."""
    schemas = data.query(q.schema_datasets)
    if schemas.empty:
        st.info(strings.SCHEMA_EMPTY)
        return None
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
        location = url_state.selectbox("Location", places, "location", places[0], short_location)
    return {"location": location, "dataset_name": dataset, "schema_name": schema}


def versions(chosen: dict) -> pd.DataFrame:
    """The schema's stored versions: columns per version, the list, and why some numbers are missing."""
    history = data.query(q.version_history, **chosen)
    st.altair_chart(charts.schema_versions(history), width="stretch")
    missing = missing_versions(history["version"])
    if missing:
        listed = ", ".join(map(str, missing[:-1])) + (" and " if len(missing) > 1 else "") + str(missing[-1])
        which = f"Version {listed} is" if len(missing) == 1 else f"Versions {listed} are"
        st.caption(strings.SCHEMA_MISSING_VERSIONS.format(missing=which))
    show(history.sort_values("inserted_at", ascending=False), VERSIONS)
    return history


def missing_versions(numbers: pd.Series) -> list[int]:
    """Version numbers below the newest stored one that are not stored (dlt stores only what a load used)."""
    stored = {int(n) for n in numbers.dropna()}
    return [n for n in range(1, max(stored, default=0)) if n not in stored]


def compare(chosen: dict, history: pd.DataFrame) -> None:
    """The tables, columns, types and hints that changed between two chosen versions."""
    st.subheader(strings.SCHEMA_COMPARE)
    numbers = [str(v) for v in history["version"]]
    if len(numbers) < 2:
        st.caption(strings.SCHEMA_ONE_VERSION)
        return
    left, right = st.columns(2)
    with left:
        old = url_state.selectbox("From version", numbers, "from", numbers[-2])
    with right:
        new = url_state.selectbox("To version", numbers, "to", numbers[-1])
    hashes = dict(zip(numbers, history["version_hash"], strict=True))
    changes = data.query(q.diff_versions, **chosen, old_hash=hashes[old], new_hash=hashes[new])
    if not changes:
        st.caption(strings.SCHEMA_NO_CHANGES)
        return
    table = pd.DataFrame([dataclasses.asdict(c) for c in changes])
    show(table.assign(change=table["change"].map(strings.CHANGE_LABELS)), CHANGES)


def new_columns() -> None:
    """Columns first seen in the last N days across every source; dlt's own `_dlt_*` columns on request."""
    st.divider()
    left, right = st.columns([1, 1], vertical_alignment="bottom")
    with left:
        days = int(url_state.selectbox(strings.SCHEMA_FEED_DAYS, FEED_DAYS, "days", "30") or 30)
    with right:
        dlt_columns = st.toggle(strings.SCHEMA_FEED_DLT, key="feed_dlt", help=strings.SCHEMA_FEED_DLT_HELP)
    st.subheader(strings.SCHEMA_FEED.format(days=days))
    today = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    feed = data.query(q.new_columns, since=today - dt.timedelta(days=days))
    if not dlt_columns:
        feed = feed[~feed["column_name"].astype(str).str.startswith("_dlt_")]
    if feed.empty:
        st.caption(strings.SCHEMA_FEED_EMPTY.format(days=days))
    else:
        show(feed, FEED)
