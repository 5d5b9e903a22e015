"""Deep links into the dashboard: the one place URLs of its views are built (alerts, cross-page links).

The URL shapes match the pages' URL-synced filters, e.g. `/trends?pipeline=crm_sync&table=customers`.
"""

from __future__ import annotations

from urllib.parse import urlencode

PAGES = ("overview", "runs", "trends", "schema", "pii", "locations", "alerts", "lineage", "governance")


def link(page: str, base_url: str = "", **filters: str | None) -> str:
    """`<base>/<page>?k=v...` with values URL-encoded; filters that are None are left out."""
    if page not in PAGES:
        raise ValueError(f"unknown dashboard page {page!r}")
    query = urlencode([(key, value) for key, value in filters.items() if value is not None])
    path = "" if page == "overview" else page  # the default page lives at the root
    return f"{base_url.rstrip('/')}/{path}" + (f"?{query}" if query else "")
