"""Formatting for people: relative times, thousands separators, durations, literal names."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<$:])")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value) in ("NaT", "nan", "<NA>")


def plural(count: int, one: str, many: str | None = None) -> str:
    """'1 table', '3 tables', '1,204 runs'."""
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def relative_time(moment: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """'just now', '42 min ago', '3 h ago', '5 d ago' (or 'in ...' for the future); '—' when unknown."""
    if _missing(moment):
        return "—"
    if hasattr(moment, "to_pydatetime"):
        moment = moment.to_pydatetime()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    seconds = (now - moment).total_seconds()
    ahead = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            amount = int(seconds // size)
            return f"in {amount} {unit}" if ahead else f"{amount} {unit} ago"
    return "just now"


def thousands(value: Any) -> str:
    """1234567 → '1,234,567'; '—' when unknown."""
    if _missing(value):
        return "—"
    return f"{int(value):,}"


def duration(seconds: Any) -> str:
    """0.42 → '420 ms', 75 → '1 min 15 s'; '—' when unknown."""
    if _missing(seconds):
        return "—"
    seconds = float(seconds)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def literal(text: Any) -> str:
    """A name shown exactly as it is inside Markdown: no formatting, links or HTML take effect."""
    if _missing(text):
        return "—"
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def cadence(seconds: Any) -> str:
    """A learned cadence for people: 3600 → 'every 1 h', 86390 → 'every 1 d', 90000 → 'every 1 d 1 h'."""
    if _missing(seconds):
        return "—"
    seconds = float(seconds)
    if seconds < 3570:
        return f"every {max(1, round(seconds / 60))} min"
    hours = round(seconds / 3600)
    if hours < 24:
        return f"every {hours} h"
    days, rest = divmod(hours, 24)
    return f"every {days} d" + (f" {rest} h" if rest else "")
