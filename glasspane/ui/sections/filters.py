"""Filter rows shared by the pages: a time range whose default is the same on every page."""

from __future__ import annotations

import datetime as dt

from glasspane.ui import strings, url_state

RANGE_DAYS = {"24h": 1, "7d": 7, "30d": 30, "90d": 90, "365d": 365, "all": None}
DEFAULT_RANGE = "30d"  # Runs, Trends and Alerts open on the same period


def time_range(choices: tuple[str, ...] = ("24h", "7d", "30d", "90d", "all")) -> tuple[str, dt.datetime | None]:
    """A 'Time range' selectbox kept in the URL (`range`): the chosen key, and the start (None: all time)."""
    period = url_state.selectbox("Time range", list(choices), "range", DEFAULT_RANGE, strings.TIME_RANGES.get)
    days = RANGE_DAYS.get(period or DEFAULT_RANGE)
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)  # minute steps keep the cache useful
    return period or DEFAULT_RANGE, (now - dt.timedelta(days=days) if days else None)
