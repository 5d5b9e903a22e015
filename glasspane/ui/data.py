"""Cached reads of the pane store. A cache entry is keyed by the store's snapshot, so a collect in
any process shows up on the next page run; the TTL only bounds memory.

Each page run's queries read one snapshot of the store: a connection pinned to the version that
was newest when the run asked, shared by every session of this process through cursors.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from glasspane import settings
from glasspane.store import Store
from glasspane.ui import strings

CACHE_TTL_S = 600
T = TypeVar("T")


def current_store() -> Store:
    """The store the app shows (`GLASSPANE_STORE`, or the embedded store in the project)."""
    return Store(settings.store_location())


@st.cache_data(ttl=CACHE_TTL_S, max_entries=512, show_spinner=strings.LOADING)
def _cached(target: str, store: str, version: int, params: tuple[tuple[str, Any], ...]) -> Any:
    module, name = target.split(":")
    function = getattr(importlib.import_module(module), name)
    with contextlib.closing(Store(store).snapshot(version)) as con:
        return function(con, **dict(params))


def query(function: Callable[..., T], **params: Any) -> T:
    """Run a query-layer function against the current store, cached until the store changes.

    List filter values are passed as tuples so that they can be part of the cache key.
    """
    store = current_store()
    if not store.is_current():
        store.ensure_current()
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))
    target = f"{function.__module__}:{function.__qualname__}"
    return _cached(target, settings.store_location(), store.version(), frozen)
