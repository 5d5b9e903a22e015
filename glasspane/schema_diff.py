"""What changed between two versions of a dlt schema: tables and columns added or removed,
types changed, hints changed (PII hints included). Used by the Schema history page and the
`schema` / `pii` alerts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Change:
    """One difference between two schema versions."""

    change: str
    table_name: str
    column_name: str | None = None
    before: str | None = None
    after: str | None = None
    pii: bool = False  # the column carries a PII hint in the newer version
    pii_kind: str | None = None


def _hints(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    try:
        return json.loads(value) if value else {}
    except (TypeError, ValueError):
        return {}


def _kind(value: Any) -> str | None:
    """A PII kind as text; None for a column without one (pandas reads a missing text as NaN)."""
    return value if isinstance(value, str) else None


def diff_columns(old: pd.DataFrame, new: pd.DataFrame) -> list[Change]:
    """Changes from `old` to `new`: frames of table_name, column_name, data_type, hints, pii, pii_kind."""
    old_tables, new_tables = set(old["table_name"]), set(new["table_name"])
    changes = [Change("table_added", t) for t in sorted(new_tables - old_tables)]
    changes += [Change("table_removed", t) for t in sorted(old_tables - new_tables)]
    before = {(r.table_name, r.column_name): r for r in old.itertuples(index=False)}
    after = {(r.table_name, r.column_name): r for r in new.itertuples(index=False)}
    for key in sorted(after.keys() - before.keys()):
        row = after[key]
        changes.append(
            Change("column_added", *key, after=row.data_type, pii=bool(row.pii), pii_kind=_kind(row.pii_kind))
        )
    for key in sorted(before.keys() - after.keys()):
        changes.append(Change("column_removed", *key, before=before[key].data_type))
    for key in sorted(after.keys() & before.keys()):
        was, now = before[key], after[key]
        if was.data_type != now.data_type:
            changes.append(
                Change("type_changed", *key, was.data_type, now.data_type, bool(now.pii), _kind(now.pii_kind))
            )
        old_hints, new_hints = _hints(was.hints), _hints(now.hints)
        if old_hints != new_hints:
            changes.append(
                Change(
                    "hints_changed",
                    *key,
                    json.dumps(old_hints, sort_keys=True),
                    json.dumps(new_hints, sort_keys=True),
                    bool(now.pii),
                    _kind(now.pii_kind),
                )
            )
    return changes
