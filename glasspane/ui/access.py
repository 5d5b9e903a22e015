"""The dashboard's door: sign-in, who the visitor is, and refusing (and logging) what they may not do."""

from __future__ import annotations

import streamlit as st

from glasspane import access
from glasspane.config import ConfigError, load_config
from glasspane.ui import data, strings

REFUSED_VIEW_KEY = "access_view_refused"


def auth_configured() -> bool:
    """True when `.streamlit/secrets.toml` has an `[auth]` section: sign-in is on."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def current() -> access.Visitor:
    """The visitor of this session."""
    try:
        rules = access.access_rules(load_config())
    except ConfigError as ex:  # a broken config grants no role to a signed-in visitor
        st.error(str(ex))
        rules = access.AccessRules({})
    loopback = access.is_loopback(st.get_option("server.address"))
    return access.visitor_of(auth_configured(), loopback, st.user.to_dict(), rules)


def door() -> access.Visitor:
    """Let the visitor in, or end the run: anonymous visitors sign in, signed-in ones need a role."""
    visitor = current()
    if visitor.mode == access.ANONYMOUS:
        st.title(strings.APP_TITLE)
        st.info(strings.ACCESS_SIGN_IN)
        st.button(strings.ACCESS_SIGN_IN_BUTTON, type="primary", on_click=st.login)
        st.stop()
    if (reason := visitor.refusal(access.VIEW)) is not None:
        if st.session_state.get(REFUSED_VIEW_KEY) != visitor.who:  # once per session, not per rerun
            access.record_refusal(data.current_store(), visitor, access.VIEW, reason)
            st.session_state[REFUSED_VIEW_KEY] = visitor.who
        st.error(strings.ACCESS_NO_ROLE.format(who=visitor.who))
        st.button(strings.ACCESS_SIGN_OUT, on_click=st.logout)
        st.stop()
    return visitor


def allow(action: str) -> access.Visitor | None:
    """The visitor when they may do `action`; else None, after saying why and logging who tried."""
    visitor = current()
    reason = visitor.refusal(action)
    if reason is None:
        return visitor
    access.record_refusal(data.current_store(), visitor, action, reason)
    st.error(strings.ACCESS_REFUSED.format(action=action, reason=reason))
    return None


def sidebar(visitor: access.Visitor) -> None:
    """Who the dashboard takes the visitor for, and sign-out."""
    if visitor.mode == access.SIGNED_IN:
        roles = ", ".join(r for r in access.ROLES if r in visitor.roles)
        st.caption(strings.ACCESS_SIGNED_IN.format(who=visitor.who, roles=roles))
        st.button(strings.ACCESS_SIGN_OUT, on_click=st.logout, key="sign_out")
    elif visitor.mode == access.LOCAL:
        st.caption(strings.ACCESS_LOCAL.format(who=visitor.who))
    else:
        st.caption(strings.ACCESS_READ_ONLY)
