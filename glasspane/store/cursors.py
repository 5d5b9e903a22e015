"""The store's bookkeeping of collected sources: each dataset's cursor, each source's last status, and
what maintenance a collect should do after its writes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from glasspane.store import Store, string_list
from glasspane.store.maintenance import Due, due_in


@dataclass
class KnownSources:
    """What the store knew of some sources before a collect: cursors and last status, and what is due."""

    cursors: dict[str, dict[str, dict]]  # source -> dataset key -> cursor
    raw_cursors: dict[tuple[str, str], str | None]  # (source, dataset key) -> the cursor as stored
    statuses: dict[str, str]  # source -> its last collect's status
    due: Due = field(default_factory=Due)  # maintenance due after the collect's writes (asked now: later, an attach)


def read_known(store: Store, names: list[str]) -> KnownSources:
    """The cursors and last statuses of the named sources, and the maintenance due (nothing, for a store
    not created yet). One transaction: each read of a DuckLake table alone looks at the catalog first
    (10-20 ms). `StoreUnreadable` when the store cannot be read."""
    with store.reading():
        return _read_known(store, names)


def _read_known(store: Store, names: list[str]) -> KnownSources:
    known = KnownSources({name: {} for name in names}, {}, {})
    if not store.exists():
        return known
    store.ensure_current()
    wanted = string_list(names)  # a literal: binding a parameter makes DuckDB import pandas (0.3 s)
    with store.reader() as con:
        con.execute("BEGIN TRANSACTION")
        rows = con.execute(
            f"SELECT source, dataset_key, cursor FROM raw.datasets WHERE list_contains({wanted}, source)"
        ).fetchall()
        known.statuses = dict(
            con.execute(f"SELECT source, status FROM raw.sources WHERE list_contains({wanted}, source)").fetchall()
        )
        known.due = due_in(con)
        con.execute("COMMIT")
    for source, key, cursor in rows:
        known.cursors[source][key] = json.loads(cursor) if cursor else {}
        known.raw_cursors[(source, key)] = cursor
    return known
