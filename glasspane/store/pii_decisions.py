"""People's decisions about suspected PII columns: confirmed (of a kind) or not PII, with who and when."""

from __future__ import annotations

import datetime as dt

from glasspane.store import Store

DECISIONS = ("confirmed", "not_pii")


def record_decision(
    store: Store,
    location: str,
    dataset_name: str,
    table_name: str,
    column_name: str,
    decision: str,
    decided_by: str,
    pii_kind: str | None = None,
) -> None:
    """Store (or replace) the decision about one column. Only names are stored, never a value."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)} (got {decision!r})")
    if not decided_by.strip():
        raise ValueError("a decision needs the name of who made it")
    with store.writer() as con:
        con.execute(
            "INSERT OR REPLACE INTO raw.pii_decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [location, dataset_name, table_name, column_name, decision,
             pii_kind if decision == "confirmed" else None, decided_by.strip(), dt.datetime.now(dt.UTC)],
        )  # fmt: skip
