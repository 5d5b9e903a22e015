"""The house table's display convention, value by value: what a reader sees in a cell or a detail."""

from __future__ import annotations

import pandas as pd

from glasspane.formatting import plural
from glasspane.ui.tables import MISSING, as_text, first_line, short_location, short_locations


def test_a_location_keeps_the_part_that_tells_it_apart():
    assert short_location("duckdb:///home/ana/projects/glasspane/.glasspane/demo/warehouse.duckdb") == (
        "duckdb://…/warehouse.duckdb"
    )
    assert short_location("s3://bucket/with/deep/prefix/events") == "s3://bucket/…/prefix/events"
    assert short_location("bigquery://proj/analytics") == "bigquery://proj/analytics"  # short: whole
    assert short_location(None) == MISSING


def test_locations_that_would_look_alike_are_shown_longer():
    places = pd.Series(
        [
            "file:///srv/team-a/lake/2026/exports/bucket",
            "file:///srv/team-b/lake/2026/exports/bucket",
            "bigquery://analytics-prod/events",
            None,
        ]
    )
    shown = short_locations(places)
    assert shown.iloc[0] != shown.iloc[1] and "team-a" in shown.iloc[0] and "team-b" in shown.iloc[1]
    assert list(shown.iloc[2:]) == ["bigquery://analytics-prod/events", MISSING]


def test_errors_show_their_first_line_and_counts_read_with_plurals():
    assert first_line("\n  RuntimeError: HR API answered 401\nTraceback ...") == "RuntimeError: HR API answered 401"
    assert first_line(None) is None
    assert (plural(1, "table"), plural(3, "table"), plural(1204, "new run")) == (
        "1 table",
        "3 tables",
        "1,204 new runs",
    )


def test_a_detail_shows_values_by_the_same_convention():
    moment = pd.Timestamp("2026-12-06 16:54:06", tz="UTC")
    assert as_text(moment, "time") == "2026-12-06 16:54 UTC"
    assert (as_text(2.2, "estimate"), as_text(1234.0, "count"), as_text(float("nan"), "count")) == (
        "≈ 2",
        "1,234",
        MISSING,
    )
    assert as_text(["crm", "hr"], "list") == "crm, hr"
