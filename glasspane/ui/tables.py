"""The house table: every table of the dashboard shows its data by one convention.

- missing values as "—";
- counts as integers with thousands separators, and one precision per quantity;
- times labelled UTC (or shown as a distance: "3 hours ago");
- status coloured like health, as a label;
- locations by their distinguishing end (`file://…/demo/warehouse.duckdb`), the full URL in the row detail;
- an error by its first line, in full in the row detail;
- widths chosen so that the columns a page lists first fit at 1280 px without scrolling sideways.

A page describes its columns (`Col`) in the order a reader needs them and calls `show`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from glasspane.formatting import plural, relative_time, thousands
from glasspane.pipeline_health import HEALTH_STATES
from glasspane.ui import strings, url_state
from glasspane.ui.theme import HEALTH_COLOURS, STATUS_PILLS

T = TypeVar("T")
MISSING = "—"
SHOWN = "_shown"  # suffix of a display column derived from a data column (the data column stays unchanged)
LOCATION_CHARS = 28

# kind: (default width in px, what the cell shows)
WIDTHS = {
    "health": 104,
    "status": 100,
    "count": 84,
    "estimate": 84,
    "seconds": 76,
    "time": 136,
    "date": 96,
    "ago": 124,
    "location": 220,
    "error": 300,
    "spark": 110,
    "check": 60,
    "link": 56,
}


@dataclass(frozen=True)
class Col:
    """One shown column: its label, its kind (how values are shown) and, optionally, a width and a help text."""

    label: str
    kind: str = "text"
    width: int | str | None = None
    help: str | None = None


def short_location(location: Any, limit: int = LOCATION_CHARS) -> str:
    """A location by its distinguishing end, with its bucket, project or machine when they fit:
    `file://…/demo/bucket`, `s3://bucket/…/events`; short ones (`bigquery://project/dataset`) whole."""
    if _missing(location):
        return MISSING
    text = str(location).rstrip("/")
    scheme, sep, rest = text.partition("://")
    parts = (rest if sep else text).split("/")
    if len(text) <= limit or (len(parts) <= 2 and len(text) <= limit + 8):  # a project and a dataset: whole
        return text
    host = f"{parts[0]}/" if sep and parts[0] and len(parts) > 2 and len(parts[0]) < limit // 2 else ""
    head = f"{scheme}{sep}{host}…" if sep else "…"
    tail = parts[-1]
    for part in reversed(parts[1 if host else 0 : -1]):  # as many whole trailing names as fit
        if len(head) + len(part) + len(tail) + 2 > limit:
            break
        tail = f"{part}/{tail}"
    room = limit - len(head) - 1
    return f"{head}/{tail if len(tail) <= room else '…' + tail[-(room - 1) :]}"


def short_locations(locations: pd.Series) -> pd.Series:
    """`short_location` of each, longer where two different locations would otherwise look alike."""
    shown = [short_location(loc) for loc in locations]
    for limit in (LOCATION_CHARS * 2, LOCATION_CHARS * 4, None):
        originals: dict[str, set[str]] = {}
        for text, location in zip(shown, locations, strict=True):
            if not _missing(location):
                originals.setdefault(text, set()).add(str(location))
        clashing = {text for text, places in originals.items() if len(places) > 1}
        if not clashing:
            break
        shown = [
            (str(loc) if limit is None else short_location(loc, limit)) if text in clashing else text
            for text, loc in zip(shown, locations, strict=True)
        ]
    return pd.Series(shown, index=locations.index)


def first_line(text: Any, limit: int = 160) -> str | None:
    """An error's first non-empty line, cut at `limit` characters; None when there is none."""
    if _missing(text):
        return None
    line = next((part.strip() for part in str(text).splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def counted(shown: int, total: int, one: str) -> str:
    """How many rows a capped list shows: '213 runs', '1 alert', '500 newest of 1,204 alerts'."""
    return f"{shown:,} newest of {plural(total, one)}" if total > shown else plural(total, one)


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, list | tuple) and bool(pd.isna(value)))


def _pill(value: Any) -> list[str] | None:
    return None if _missing(value) else [str(value)]  # None: the table's "—", as for any missing value


DERIVED = {  # kinds whose cells show something derived from the value
    "health": lambda v: v.map(_pill),
    "status": lambda v: v.map(_pill),
    "location": short_locations,
    "error": lambda v: v.map(first_line),
    "count": lambda v: pd.to_numeric(v, errors="coerce").round().astype("Int64"),
    "estimate": lambda v: pd.to_numeric(v, errors="coerce").round().astype("Int64"),
}


def _prepared(frame: pd.DataFrame, columns: Mapping[str, Col]) -> tuple[pd.DataFrame, dict[str, str]]:
    """The frame with display columns added where a kind changes what a cell shows; shown name per column."""
    derived: dict[str, pd.Series] = {}
    names = {}
    for name, col in columns.items():
        if name not in frame.columns:
            continue
        if col.kind in DERIVED:
            names[name] = f"{name}{SHOWN}"
            derived[names[name]] = DERIVED[col.kind](frame[name])
        else:
            names[name] = name
    return (frame.assign(**derived) if derived else frame), names


def _config(col: Col, values: pd.Series) -> Any:
    """The Streamlit column config of one column, by its kind."""
    width = col.width or WIDTHS.get(col.kind)
    common = {"width": width, "help": col.help}
    cc = st.column_config
    if col.kind in ("health", "status"):
        colours = HEALTH_COLOURS if col.kind == "health" else STATUS_PILLS
        known = list(HEALTH_STATES) if col.kind == "health" else list(colours)
        options = list(dict.fromkeys([*known, *(v for cell in values.dropna() for v in cell)]))
        labels = strings.HEALTH_LABELS if col.kind == "health" else {}
        return cc.MultiselectColumn(
            col.label,
            options=options,
            color=[colours.get(o, "#e5e7eb") for o in options],
            format_func=lambda o: labels.get(o, o),
            **common,
        )
    if col.kind in ("count", "estimate"):
        return cc.NumberColumn(col.label, format="localized", **common)
    if col.kind == "seconds":
        return cc.NumberColumn(col.label, format="%.2f", **common)
    if col.kind == "time":
        return cc.DatetimeColumn(f"{col.label} (UTC)", format="YYYY-MM-DD HH:mm", timezone="UTC", **common)
    if col.kind == "date":
        return cc.DatetimeColumn(f"{col.label} (UTC)", format="YYYY-MM-DD", timezone="UTC", **common)
    if col.kind == "ago":
        return cc.DatetimeColumn(col.label, format="distance", **common)
    if col.kind == "spark":
        return cc.LineChartColumn(col.label, y_min=0, **common)  # zero-based: a small wobble looks small
    if col.kind == "check":
        return cc.CheckboxColumn(col.label, **common)
    if col.kind == "list":
        return cc.ListColumn(col.label, **common)
    if col.kind == "link":
        return cc.LinkColumn(col.label, display_text="open", **common)
    return cc.TextColumn(col.label, **common)


def show(frame: pd.DataFrame, columns: Mapping[str, Col], *, key: str | None = None, select: str | None = None) -> Any:
    """`frame` as a house table showing `columns` in their order; `select` ("single-row", "multi-row") makes
    rows selectable and returns Streamlit's selection event."""
    table, names = _prepared(frame, columns)
    config = {names[n]: _config(c, table[names[n]]) for n, c in columns.items() if n in names}
    options: dict[str, Any] = {"on_select": "rerun", "selection_mode": select} if select else {}
    return st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_order=list(config),
        column_config=config,
        placeholder=MISSING,
        key=key,
        **options,
    )


def as_text(value: Any, kind: str = "text") -> str:
    """One value as a detail shows it, by the same convention as the table cells."""
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or MISSING
    if _missing(value):
        return MISSING
    if kind in ("count", "estimate"):
        return ("≈ " if kind == "estimate" else "") + thousands(value)
    if kind == "seconds":
        return f"{float(value):.2f}"
    if kind in ("time", "date"):
        moment = pd.Timestamp(value)
        moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
        return f"{moment:%Y-%m-%d}" if kind == "date" else f"{moment:%Y-%m-%d %H:%M} UTC"
    if kind == "ago":
        return relative_time(value)
    if kind == "check":
        return "yes" if value else "no"
    return str(value)


def detail(row: pd.Series, columns: Mapping[str, Col]) -> None:
    """A selected row's secondary columns as a two-column table: what, and its value (full, never cut)."""
    facts = [(c.label, as_text(row[n], c.kind)) for n, c in columns.items() if n in row.index]
    st.dataframe(pd.DataFrame(facts, columns=["Field", "Value"]), hide_index=True, width="stretch")


def selected_row(event: Any, frame: pd.DataFrame) -> pd.Series | None:
    """The row of `frame` selected in its table, if any (the first of several)."""
    if event and event.selection.rows and event.selection.rows[0] < len(frame):
        return frame.iloc[event.selection.rows[0]]
    return None


def linked_detail(
    event: Any, frame: pd.DataFrame, id_column: str, param: str, load: Callable[[str], T | None], not_found: str
) -> T | None:
    """The detail of the row selected in a table, or named by the URL parameter `param`: the selection goes in
    the URL, so the view is a link. A divider above it; a warning when the store has no such row."""
    row = selected_row(event, frame)
    if row is not None:
        url_state.set_value(param, str(row[id_column]))
    chosen = url_state.value(param)
    if not chosen:
        return None
    st.divider()
    found = load(chosen)
    if found is None:
        st.warning(not_found)
    return found
