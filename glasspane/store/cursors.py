"""The store's bookkeeping of collected sources: each dataset's cursor, and each source's last status."""

from __future__ import annotations

import json
from dataclasses import dataclass

from glasspane.store import Store


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
    with store.reader() as con:
        rows = con.execute(
            "SELECT source, dataset_key, cursor FROM raw.datasets WHERE list_contains(?::VARCHAR[], source)", [names]
        ).fetchall()
        known.statuses = dict(
            con.execute(
                "SELECT source, status FROM raw.sources WHERE list_contains(?::VARCHAR[], source)", [names]
            ).fetchall()
        )
    for source, key, cursor in rows:
        known.cursors[source][key] = json.loads(cursor) if cursor else {}
        known.raw_cursors[(source, key)] = cursor
    return known
