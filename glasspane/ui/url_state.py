"""Filters that live in the URL, so any view can be shared as a link (Slack, tickets)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from glasspane.ui import strings


def _sync(key: str, param: str) -> None:
    value = st.session_state.get(key)
    if value in (None, "", [], ()):
        st.query_params.pop(param, None)
    elif isinstance(value, list | tuple):
        st.query_params[param] = [str(v) for v in value]
    else:
        st.query_params[param] = str(value)


def multiselect(
    label: str,
    options: Sequence[str],
    param: str,
    help: str | None = None,
    format_func: Callable[[str], str] = str,
) -> list[str]:
    """A multiselect whose choice is the URL parameter `param` (repeated: `?p=a&p=b`).

    Values in the URL that the store does not know are kept as options: a shared link to a
    pipeline that no longer exists shows an empty result, not a silently wider one.
    """
    key = f"url_{param}"
    if key not in st.session_state:
        st.session_state[key] = list(dict.fromkeys(st.query_params.get_all(param)))
    chosen = st.session_state[key]
    all_options = list(dict.fromkeys([*options, *chosen]))
    return st.multiselect(
        label,
        all_options,
        key=key,
        on_change=_sync,
        args=(key, param),
        help=help,
        format_func=format_func,
        placeholder=strings.FILTER_ALL,  # nothing chosen filters nothing
    )


def selectbox(
    label: str,
    options: Sequence[str],
    param: str,
    default: str | None = None,
    format_func: Callable[[str], str] = str,
) -> str | None:
    """A selectbox whose choice is the URL parameter `param`; unknown URL values fall back to `default`.

    A remembered choice that the options no longer offer (another pipeline or table was picked
    above it) falls back to `default` too.
    """
    key = f"url_{param}"
    if key not in st.session_state:
        wanted = st.query_params.get(param, default)
        st.session_state[key] = wanted if wanted in options else default
    elif st.session_state[key] not in options:
        st.session_state[key] = default
        _sync(key, param)
    return st.selectbox(label, options, key=key, on_change=_sync, args=(key, param), format_func=format_func)


def value(param: str) -> str | None:
    """A URL parameter that no widget owns (e.g. the selected run)."""
    return st.query_params.get(param)


def set_value(param: str, new: str | None) -> None:
    """Set or clear a URL parameter that no widget owns."""
    if new is None:
        st.query_params.pop(param, None)
    else:
        st.query_params[param] = new
