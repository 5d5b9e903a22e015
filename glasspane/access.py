"""Who may see and do what on the dashboard: sign-in, roles from `glasspane.toml`, a closed door by default.

- Sign-in configured (`[auth]` in `.streamlit/secrets.toml`): a visitor signs in with the organisation's
  OpenID Connect provider; `[access]` in `glasspane.toml` lists the e-mail addresses or `@domains` of
  each role. Every role may view; `steward` decides PII, `operator` collects and marks volume anomalies
  expected or a new normal (the dashboard sends no
  alerts: `collect --alert` does, on the collector's machine), `executor` executes deletion plans.
- No sign-in, bound to loopback: the person at the machine views, decides PII and collects, as the
  operating-system user; nobody executes a deletion from the dashboard.
- No sign-in, bound to any other address: read-only.
"""

from __future__ import annotations

import datetime as dt
import getpass
import ipaddress
import logging
from dataclasses import dataclass
from typing import Any

from glasspane.config import Config, ConfigError
from glasspane.store import Store

VIEWER, STEWARD, OPERATOR, EXECUTOR = "viewer", "steward", "operator", "executor"
ROLES = (VIEWER, STEWARD, OPERATOR, EXECUTOR)
VIEW, DECIDE_PII, COLLECT, EXECUTE_DELETION = "view", "decide PII", "collect now", "execute deletion"
MARK_LOAD = "mark a load"  # expected or new normal: feedback on a volume anomaly, as operators give it
NEEDS = {VIEW: VIEWER, DECIDE_PII: STEWARD, COLLECT: OPERATOR, MARK_LOAD: OPERATOR, EXECUTE_DELETION: EXECUTOR}
SIGNED_IN, ANONYMOUS, LOCAL, READ_ONLY = "signed in", "anonymous", "local", "read-only"
LOCAL_ROLES = frozenset({VIEWER, STEWARD, OPERATOR})  # never EXECUTOR: that needs a signed-in identity

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccessRules:
    """`[access]`: per role, the e-mail addresses (`ana@example.com`) and domains (`@example.com`) in it."""

    members: dict[str, tuple[str, ...]]

    def roles_of(self, email: str | None) -> frozenset[str]:
        """The roles of a signed-in e-mail address; any role includes `viewer`."""
        if not email or "@" not in email:
            return frozenset()
        email = email.strip().lower()
        domain = "@" + email.rsplit("@", 1)[1]
        roles = {role for role, members in self.members.items() if email in members or domain in members}
        return frozenset(roles | {VIEWER}) if roles else frozenset()


def access_rules(config: Config) -> AccessRules:
    """The `[access]` section of a config; an unknown role or a malformed member is a ConfigError."""
    where = f"{config.path or 'default config'}: [access]"
    section = config.sections.get("access", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: must be a table of roles")
    members: dict[str, tuple[str, ...]] = {}
    for role, listed in section.items():
        if role not in ROLES:
            raise ConfigError(f"{where}: unknown role '{role}' (roles: {', '.join(ROLES)})")
        if not isinstance(listed, list) or not all(isinstance(m, str) and "@" in m for m in listed):
            raise ConfigError(f"{where}: '{role}' must be a list of e-mail addresses or @domains")
        members[role] = tuple(m.strip().lower() for m in listed)
    return AccessRules(members)


@dataclass(frozen=True)
class Visitor:
    """Who is looking at the dashboard, as far as Glasspane knows, and what they may do."""

    mode: str  # SIGNED_IN | ANONYMOUS | LOCAL | READ_ONLY
    who: str | None  # the identity recorded for their actions
    roles: frozenset[str]

    def refusal(self, action: str) -> str | None:
        """Why this visitor may not do `action`, or None when they may."""
        needed = NEEDS[action]
        if needed in self.roles:
            return None
        if self.mode == ANONYMOUS:
            return "not signed in"
        if self.mode == READ_ONLY:
            return "read-only: no sign-in is configured and the dashboard is not bound to loopback"
        if self.mode == LOCAL:
            return f"needs sign-in as a {needed}"
        return f"needs the {needed} role"


def is_loopback(address: str | None) -> bool:
    """True for an address only this machine reaches (127.0.0.0/8, ::1, localhost); an empty one means all."""
    if not address:
        return False
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def visitor_of(auth_configured: bool, loopback: bool, user: dict[str, Any], rules: AccessRules) -> Visitor:
    """The visitor, from whether sign-in is configured, the bound address and Streamlit's `st.user`."""
    if auth_configured:
        if not user.get("is_logged_in"):
            return Visitor(ANONYMOUS, None, frozenset())
        email = str(user.get("email") or "").strip().lower() or None
        return Visitor(SIGNED_IN, email, rules.roles_of(email))
    if loopback:
        return Visitor(LOCAL, getpass.getuser(), LOCAL_ROLES)
    return Visitor(READ_ONLY, None, frozenset({VIEWER}))


def record_refusal(store: Store, visitor: Visitor, action: str, reason: str) -> None:
    """Log a refused action with who tried it, in the store's access log and the app's log."""
    log.warning("refused %s for %s (%s): %s", action, visitor.who or "anonymous", visitor.mode, reason)
    with store.writer() as con:
        con.execute(
            "INSERT INTO raw.access_log VALUES (?, ?, ?, 'refused', ?)",
            [dt.datetime.now(dt.UTC), visitor.who, action, reason],
        )
