"""A data subject's value: checked against its PII kind's format, and known to the store only as a salted hash.

The salt comes from dlt's config resolution (`GLASSPANE__SUBJECT_SALT`, or `subject_salt` under
`[glasspane]` in `.dlt/secrets.toml`), so a team can share one and compare audits. Without it, one is
generated on first use into a file beside the store (`<store>.salt`, readable by its owner only) and
kept there: never inside the store, so a copy of the store alone cannot confirm a guessed value.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import hmac
import ipaddress
import os
import re
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path

SALT_SECRET = "glasspane.subject_salt"
MAX_VALUE_CHARS = 1024


class SubjectError(ValueError):
    """A kind or value that cannot be used; the message is one line and never contains the value."""


def _email(value: str) -> bool:
    return re.fullmatch(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+", value) is not None


def _phone(value: str) -> bool:
    return re.fullmatch(r"\+?[0-9 ()./-]+", value) is not None and 6 <= sum(c.isdigit() for c in value) <= 20


def _ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _date(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


# PII kinds with a checkable format: (check, what a value of the kind looks like).
FORMATS: dict[str, tuple[Callable[[str], bool], str]] = {
    "email": (_email, "an e-mail address (name@domain.tld)"),
    "phone": (_phone, "a phone number (6 to 20 digits, optionally +, spaces, dashes, brackets)"),
    "ip_address": (_ip, "an IPv4 or IPv6 address"),
    "ip": (_ip, "an IPv4 or IPv6 address"),
    "date_of_birth": (_date, "an ISO date (YYYY-MM-DD)"),
    "birth_date": (_date, "an ISO date (YYYY-MM-DD)"),
}


def check_kind(kind: str, known: Sequence[str]) -> str:
    """The kind as the store spells it; SubjectError when no PII column is tagged with it."""
    wanted = kind.strip().lower()
    by_lower = {k.lower(): k for k in known}
    if wanted in by_lower:
        return by_lower[wanted]
    close = difflib.get_close_matches(wanted, list(by_lower), n=1)
    hint = f"; did you mean '{by_lower[close[0]]}'?" if close else ""
    listed = ", ".join(sorted(known)) or "none: tag PII columns with dlt's x-annotation-pii hint"
    raise SubjectError(f"unknown PII kind '{kind.strip()}': no column in the store is tagged with it "
                       f"(tagged kinds: {listed}){hint}")  # fmt: skip


def check_value(kind: str, value: str) -> str:
    """The value, trimmed, if it fits the kind's format; SubjectError (without the value) if not."""
    cleaned = value.strip()
    if not cleaned:
        raise SubjectError(f"empty value for PII kind '{kind}'")
    if len(cleaned) > MAX_VALUE_CHARS or "\n" in cleaned or "\r" in cleaned:
        raise SubjectError(f"the value for PII kind '{kind}' must be one line of at most {MAX_VALUE_CHARS} characters")
    check = FORMATS.get(kind.lower())
    if check and not check[0](cleaned):
        raise SubjectError(f"the value does not look like {check[1]}, as PII kind '{kind}' requires")
    return cleaned


def subject_hash(kind: str, value: str, salt: bytes) -> str:
    """A keyed hash (HMAC-SHA256) of kind and value: the same subject always gives the same hash."""
    message = f"{kind.lower()}\n{value.strip()}".encode()
    return hmac.new(salt, message, hashlib.sha256).hexdigest()


def salt_for(store_path: Path) -> bytes:
    """The salt: the configured secret, else the one generated beside the store (created on first use)."""
    import dlt

    configured = dlt.secrets.get(SALT_SECRET)
    if configured:
        return str(configured).encode()
    path = store_path.with_name(store_path.name + ".salt")
    try:
        return path.read_text().strip().encode()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_text().strip().encode()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def scrub(text: str | None, value: str) -> str | None:
    """A message with every occurrence of the subject's value replaced by '<subject>'."""
    if text is None or not value:
        return text
    return re.sub(re.escape(value), "<subject>", text, flags=re.IGNORECASE)
