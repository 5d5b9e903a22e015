"""Keep every page inside the app's navigation, also when a deep link is the first request.

Streamlit treats an app with a top-level `pages/` folder as an old-style multipage app until
`app.py` calls `st.navigation`: if the first request after the server starts is a deep link
(`/runs?pipeline=x`, what a Slack alert opens), it runs that page script alone, without the
app's sidebar, layout or page titles. A page that finds itself run that way switches the server
to `app.py`'s navigation and, on a fresh visit, reruns: the same URL then resolves through `app.py`.
(A visit that already has widget state is not rerun, so no click is lost; it still passes the door.)
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def inside_app() -> None:
    """Call first in every page: rerun through app.py when Streamlit ran this page on its own."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        if not st.session_state:
            st.rerun()
        from glasspane.ui import access

        access.door()  # app.py's door did not run: sign-in and roles hold for a page run alone too
