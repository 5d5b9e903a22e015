"""Deep links into the dashboard: the one place alerts build URLs.

The URL shapes match the pages' URL-synced filters. `link` has the signature of the dashboard's
own `glasspane/links.py`: when that module (with an `alerts` page) is in place, this one becomes
an import of it.
"""

from __future__ import annotations

from urllib.parse import urlencode

PAGES = ("runs", "trends", "schema", "pii", "alerts")


def link(page: str, base_url: str, **filters: str | None) -> str:
    """`<base>/<page>?k=v...` with values URL-encoded; filters that are None are left out."""
    if page not in PAGES:
        raise ValueError(f"unknown dashboard page {page!r}")
    query = urlencode([(key, value) for key, value in filters.items() if value is not None])
    return f"{base_url.rstrip('/')}/{page}" + (f"?{query}" if query else "")
