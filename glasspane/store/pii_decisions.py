"""People's decisions about suspected PII columns: confirmed (of a kind) or not PII, with who and when."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from glasspane.store import Store
from glasspane.store.governance import refresh_lineage

DECISIONS = ("confirmed", "not_pii")


@dataclass(frozen=True)
class DecidedColumn:
    """A column a decision is about, and the kind it was suspected to be."""

    location: str
    dataset_name: str
    table_name: str
    column_name: str
    pii_kind: str | None = None


def record_decisions(store: Store, columns: list[DecidedColumn], decision: str, decided_by: str) -> None:
    """Store (or replace) one decision about several columns, in one write of the store (a write
    copies the whole file), and re-derive the PII inherited through lineage, which now starts (or no
    longer starts) at these columns. Only names are stored, never a value."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)} (got {decision!r})")
    if not decided_by.strip():
        raise ValueError("a decision needs the name of who made it")
    decided_at = dt.datetime.now(dt.UTC)
    with store.writer() as con:
        keys = [[c.location, c.dataset_name, c.table_name, c.column_name] for c in columns]
        con.executemany(
            "DELETE FROM raw.pii_decisions WHERE location = ? AND dataset_name = ? AND table_name = ? "
            "AND column_name = ?",
            keys,
        )
        con.executemany(
            "INSERT INTO raw.pii_decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [[*key, decision, c.pii_kind if decision == "confirmed" else None, decided_by.strip(), decided_at]
             for key, c in zip(keys, columns, strict=True)],
        )  # fmt: skip
        refresh_lineage(con)
