"""The store's bookkeeping of collected sources: each dataset's cursor, and each source's last status."""

from __future__ import annotations

import json
from dataclasses import dataclass

from glasspane.store import Store, string_list


@dataclass
class KnownSources:
    """What the store knew of some sources before a collect: cursors and last status."""

    cursors: dict[str, dict[str, dict]]  # source -> dataset key -> cursor
    raw_cursors: dict[tuple[str, str], str | None]  # (source, dataset key) -> the cursor as stored
    statuses: dict[str, str]  # source -> its last collect's status


def read_known(store: Store, names: list[str]) -> KnownSources:
    """The cursors and last statuses of the named sources (empty for a store not created yet)."""
    known = KnownSources({name: {} for name in names}, {}, {})
    if not store.exists():
        return known
    store.ensure_current()
    wanted = string_list(names)  # a literal: binding a parameter makes DuckDB import pandas (0.3 s)
    with store.reader() as con:
        rows = con.execute(
            f"SELECT source, dataset_key, cursor FROM raw.datasets WHERE list_contains({wanted}, source)"
        ).fetchall()
        known.statuses = dict(
            con.execute(f"SELECT source, status FROM raw.sources WHERE list_contains({wanted}, source)").fetchall()
        )
    for source, key, cursor in rows:
        known.cursors[source][key] = json.loads(cursor) if cursor else {}
        known.raw_cursors[(source, key)] = cursor
    return known
