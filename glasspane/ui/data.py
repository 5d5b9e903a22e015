"""Cached reads of the pane store. A cache entry is keyed by the store file's version, so a
collect in any process shows up on the next page run; the TTL only bounds memory.

Queries run on cursors of one read-only snapshot per store version, so they share its cache of the
file's blocks instead of each opening the file cold. When a collect replaces the file, the next
query opens the new version; the old snapshot closes once its last cursor is done.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import duckdb
import streamlit as st

from glasspane import settings
from glasspane.store import Store, carries_current_schema, open_snapshot, snapshot_cursor
from glasspane.ui import strings

CACHE_TTL_S = 600
T = TypeVar("T")
_CURSORS = threading.Lock()  # sessions run in threads; cursors are taken one at a time


def current_store() -> Store:
    """The store the app shows (`GLASSPANE_STORE`, or `glasspane.duckdb` in the project)."""
    return Store(settings.store_path())


@st.cache_resource(show_spinner=False, max_entries=1)
def _snapshot(path: str, version: tuple[int, int]) -> duckdb.DuckDBPyConnection:
    snapshot = open_snapshot(path)
    with contextlib.closing(snapshot_cursor(snapshot)) as con:
        current = carries_current_schema(con)
    if not current:  # written by older code: migrate it first
        snapshot.close()
        Store(path).ensure_current()
        snapshot = open_snapshot(path)
    return snapshot


def _cursor(path: str, version: tuple[int, int]) -> duckdb.DuckDBPyConnection:
    with _CURSORS:
        return snapshot_cursor(_snapshot(path, version))


@st.cache_data(ttl=CACHE_TTL_S, max_entries=512, show_spinner=strings.LOADING)
def _cached(target: str, path: str, version: tuple[int, int], params: tuple[tuple[str, Any], ...]) -> Any:
    module, name = target.split(":")
    function = getattr(importlib.import_module(module), name)
    with contextlib.closing(_cursor(path, version)) as con:
        return function(con, **dict(params))


def query(function: Callable[..., T], **params: Any) -> T:
    """Run a query-layer function against the current store, cached until the store changes.

    List filter values are passed as tuples so that they can be part of the cache key.
    """
    store = current_store()
    if not store.exists():
        store.ensure_current()
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))
    return _cached(f"{function.__module__}:{function.__qualname__}", str(store.path), store.version(), frozen)
