"""People's decisions about suspected PII columns: confirmed (of a kind) or not PII, with who and when."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from glasspane.store import Store
from glasspane.store.lineage import refresh_lineage
from glasspane.store.upsert import upsert

DECISIONS = ("confirmed", "not_pii")
KEY = ["location", "dataset_name", "table_name", "column_name"]


@dataclass(frozen=True)
class DecidedColumn:
    """A column a decision is about, and the kind it was suspected to be."""

    location: str
    dataset_name: str
    table_name: str
    column_name: str
    pii_kind: str | None = None


def record_decisions(store: Store, columns: list[DecidedColumn], decision: str, decided_by: str) -> None:
    """Store (or replace) one decision about several columns, in one write of the store, and re-derive
    the PII inherited through lineage, which now starts (or no longer starts) at these columns. Only
    names are stored, never a value."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)} (got {decision!r})")
    if not decided_by.strip():
        raise ValueError("a decision needs the name of who made it")
    decided_at = dt.datetime.now(dt.UTC)
    rows = pd.DataFrame(
        [
            [
                c.location,
                c.dataset_name,
                c.table_name,
                c.column_name,
                decision,
                c.pii_kind if decision == "confirmed" else None,
                decided_by.strip(),
                decided_at,
            ]
            for c in columns
        ],
        columns=[
            "location",
            "dataset_name",
            "table_name",
            "column_name",
            "decision",
            "pii_kind",
            "decided_by",
            "decided_at",
        ],
    )

    def decide(con: duckdb.DuckDBPyConnection) -> None:
        upsert(con, "raw.pii_decisions", rows, KEY)
        refresh_lineage(con, {c.location for c in columns})

    store.write(decide)
