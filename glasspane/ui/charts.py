"""Altair charts of the dashboard, built from query-layer frames (pages only place them)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from glasspane.health import AnomalyRule
from glasspane.ui.tables import short_locations
from glasspane.ui.theme import ANOMALY, BAND, LINE, MUTED, NEW_NORMAL, STATUS_COLOURS


def runs_timeline(buckets: pd.DataFrame, bucket_label: str) -> alt.Chart:
    """Runs per location over time, one row per location (by its distinguishing end; the full URL on hover),
    a dot per time bucket and status sized by runs."""
    statuses = sorted(set(buckets["status"]) | set(STATUS_COLOURS))
    colours = [STATUS_COLOURS.get(s, MUTED) for s in statuses]
    data = buckets.assign(place=short_locations(buckets["location"]))
    places = sorted(data["place"].unique())
    return (
        alt.Chart(data)
        .mark_circle(opacity=0.75)
        .encode(
            x=alt.X("bucket:T", title="UTC"),
            y=alt.Y("place:N", title=None, sort=places, axis=alt.Axis(labelLimit=300)),
            color=alt.Color("status:N", scale=alt.Scale(domain=statuses, range=colours), title="Status"),
            size=alt.Size("runs:Q", scale=alt.Scale(range=[30, 400]), legend=None),  # the caption says so
            tooltip=[
                alt.Tooltip("location:N", title="Location"),
                alt.Tooltip("bucket:T", title=f"{bucket_label} (UTC)", format="%Y-%m-%d %H:%M"),
                alt.Tooltip("status:N", title="Status"),
                alt.Tooltip("runs:Q", title="Runs", format=","),
                alt.Tooltip("pipelines:Q", title="Pipelines", format=","),
            ],
        )
        .properties(height=max(120, 28 * len(places)))
    )


STATUS_DOTS = {"normal": LINE, "anomalous": ANOMALY, "expected": MUTED, "new normal": NEW_NORMAL}
RANGE_SELECTION = "range"  # the brush's name: the page reads the selected range from it


def volume_trend(points: pd.DataFrame, title: str) -> alt.LayerChart:
    """Rows per load with the baseline band and anomalies marked; drag across it to select a range."""
    judged = points["history"] >= AnomalyRule.min_history  # no band where the rule has too little history
    status = points["anomalous"].map({True: "anomalous", False: "normal"})
    status = status.mask(points["kind"] == "new normal", "new normal").mask(points["mark"] == "expected", "expected")
    data = points.assign(
        status=status,
        robust_z=points["robust_z"].round(1),
        baseline=points["baseline"].round(0).where(judged),
        lower=points["lower"].where(judged),
        upper=points["upper"].where(judged),
    )
    brush = alt.selection_interval(encodings=["x"], name=RANGE_SELECTION)
    x = alt.X("loaded_at:T", title="Loaded (UTC)")
    tooltip = [
        alt.Tooltip("loaded_at:T", title="Loaded (UTC)", format="%Y-%m-%d %H:%M"),
        alt.Tooltip("load_id:N", title="Load id"),
        alt.Tooltip("row_count:Q", title="Rows", format=","),
        alt.Tooltip("baseline:Q", title="Baseline", format=","),
        alt.Tooltip("robust_z:Q", title="Robust z"),
        alt.Tooltip("status:N", title="Judged"),
        alt.Tooltip("kind:N", title="Kind"),
        alt.Tooltip("season:N", title="Compared with"),
        alt.Tooltip("marked_by:N", title="Marked by"),
    ]
    base = alt.Chart(data)
    band = base.mark_area(color=BAND, opacity=0.6).encode(
        x=x, y=alt.Y("lower:Q", title="Rows per load", scale=alt.Scale(zero=True)), y2="upper:Q"
    )
    baseline = base.mark_line(color=MUTED, strokeDash=[4, 3]).encode(x=x, y="baseline:Q")
    line = base.mark_line(color=LINE).encode(x=x, y="row_count:Q")
    palette = alt.Scale(domain=list(STATUS_DOTS), range=list(STATUS_DOTS.values()))
    dots = (
        base.mark_circle()
        .encode(
            x=x,
            y="row_count:Q",
            color=alt.Color("status:N", scale=palette, title=None),
            size=alt.condition(alt.datum.anomalous, alt.value(140), alt.value(30)),
            tooltip=tooltip,
        )
        .add_params(brush)
    )
    return alt.layer(band, baseline, line, dots).properties(height=340, title=title)


def selected_range(selection: dict, column: str = "loaded_at") -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The (start, end) of a range brushed on `volume_trend`, from `st.altair_chart`'s selection state."""
    bounds = (selection or {}).get(RANGE_SELECTION, {}).get(column)
    if not bounds or len(bounds) != 2:
        return None
    start, end = sorted(_utc(b) for b in bounds)
    return start, end


def _utc(bound: float | str) -> pd.Timestamp:
    moment = pd.Timestamp(bound, unit="ms") if isinstance(bound, int | float) else pd.Timestamp(bound)
    return moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")


def counts_bar(counts: pd.DataFrame, field: str, title: str) -> alt.Chart:
    """A horizontal bar per value of `field`, its length the `columns` count."""
    return (
        alt.Chart(counts)
        .mark_bar(color=LINE)
        .encode(
            x=alt.X("columns:Q", title="PII columns", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y(f"{field}:N", title=None, sort="-x", axis=alt.Axis(labelLimit=240)),
            tooltip=[alt.Tooltip(f"{field}:N", title=title), alt.Tooltip("columns:Q", title="PII columns")],
        )
        .properties(title=title, height=alt.Step(24))
    )


def schema_versions(versions: pd.DataFrame) -> alt.Chart:
    """A schema's stored versions in order, one step each, its height the number of columns (from zero, with
    room above the highest): version numbers label the axis, so versions stored within a minute stay apart."""
    top = int(versions["columns"].max() or 0) + 2  # room above the highest step: nothing drawn on the edge
    return (
        alt.Chart(versions)
        .mark_line(point=alt.OverlayMarkDef(size=70), interpolate="step-after", color=LINE)
        .encode(
            x=alt.X("version:O", title="Version", axis=alt.Axis(labelAngle=0)),
            y=alt.Y(
                "columns:Q",
                title="Columns",
                scale=alt.Scale(domain=[0, top], nice=False),
                axis=alt.Axis(tickMinStep=1, format="d"),
            ),
            tooltip=[
                alt.Tooltip("version:Q", title="Version"),
                alt.Tooltip("inserted_at:T", title="Stored (UTC)", format="%Y-%m-%d %H:%M:%S"),
                alt.Tooltip("tables:Q", title="Tables"),
                alt.Tooltip("columns:Q", title="Columns"),
                alt.Tooltip("pii_columns:Q", title="PII columns"),
                alt.Tooltip("version_hash:N", title="Hash"),
            ],
        )
        .properties(height=180)
    )
