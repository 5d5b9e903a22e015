"""Counting what a collect costs: requests, API calls, queries, bytes."""

from __future__ import annotations

import threading


class Meter:
    """Requests made and bytes read, shared by the threads reading one dataset."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def add(self, **amounts: int) -> None:
        """Add to named counters (`list_calls=1`, `get_calls=1`, `bytes_read=n`)."""
        with self._lock:
            for key, value in amounts.items():
                self.counts[key] = self.counts.get(key, 0) + value
