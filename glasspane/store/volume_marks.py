"""People's feedback on volume anomalies: a load marked "expected" or "new normal", with who and when."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from glasspane.anomalies import MARKS
from glasspane.store import Store

CLEARED = "cleared"


@dataclass(frozen=True)
class MarkedLoad:
    """One load of one pipeline's table."""

    location: str
    dataset_name: str
    pipeline_name: str
    table_name: str
    load_id: str


def record_mark(store: Store, load: MarkedLoad, mark: str, marked_by: str) -> None:
    """Append a mark ("expected", "new normal", or "cleared" to withdraw one); the newest counts.

    "expected" leaves the load out of baselines and alerts; "new normal" moves the baseline to it.
    """
    if mark not in (*MARKS, CLEARED):
        raise ValueError(f"mark must be one of {', '.join((*MARKS, CLEARED))} (got {mark!r})")
    if not marked_by.strip():
        raise ValueError("a mark needs the name of who made it")
    with store.writer() as con:
        con.execute(
            "INSERT INTO raw.volume_marks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                load.location,
                load.dataset_name,
                load.pipeline_name,
                load.table_name,
                str(load.load_id),
                mark,
                marked_by.strip(),
                dt.datetime.now(dt.UTC),
            ],
        )
