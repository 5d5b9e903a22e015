"""Cached reads of the pane store. A cache entry is keyed by the store file's version, so a
collect in any process shows up on the next page run; the TTL only bounds memory."""

from __future__ import annotations

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
    """The store the app shows (`GLASSPANE_STORE`, or `glasspane.duckdb` in the project)."""
    return Store(settings.store_path())


@st.cache_resource(show_spinner=False)
def _ensure_current(path: str, version: tuple[int, int]) -> None:
    Store(path).ensure_current()


@st.cache_data(ttl=CACHE_TTL_S, max_entries=512, show_spinner=strings.LOADING)
def _cached(target: str, path: str, version: tuple[int, int], params: tuple[tuple[str, Any], ...]) -> Any:
    module, name = target.split(":")
    function = getattr(importlib.import_module(module), name)
    with Store(path).reader() as con:
        return function(con, **dict(params))


def query(function: Callable[..., T], **params: Any) -> T:
    """Run a query-layer function against the current store, cached until the store changes.

    List filter values are passed as tuples so that they can be part of the cache key.
    """
    store = current_store()
    _ensure_current(str(store.path), store.version())
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))
    return _cached(f"{function.__module__}:{function.__qualname__}", str(store.path), store.version(), frozen)
