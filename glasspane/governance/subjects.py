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

from glasspane.dlt_config import secret

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


def _iban(value: str) -> bool:
    """ISO 13616: country, check digits, account; the rearranged number is 1 modulo 97."""
    compact = value.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", compact):
        return False
    return int("".join(str(int(c, 36)) for c in compact[4:] + compact[:4])) % 97 == 1


def _card(value: str) -> bool:
    """A payment card number: 12 to 19 digits (spaces or dashes between them) passing the Luhn check."""
    if not re.fullmatch(r"[0-9]+([ -][0-9]+)*", value):
        return False
    digits = [int(c) for c in reversed(value) if c.isdigit()]
    doubled = [d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits)]
    return 12 <= len(digits) <= 19 and sum(doubled) % 10 == 0


def _ssn(value: str) -> bool:
    """A US social security number as issued: no area 000, 666 or 9xx, no group 00, no serial 0000."""
    match = re.fullmatch(r"([0-9]{3})(-?)([0-9]{2})\2([0-9]{4})", value)
    if match is None:
        return False
    area, _, group, serial = match.groups()
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


def _uuid(value: str) -> bool:
    return re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", value) is not None


_ISO_DATE = (_date, "an ISO date (YYYY-MM-DD)")
_IP = (_ip, "an IPv4 or IPv6 address")
_CARD = (_card, "a payment card number (12 to 19 digits with a valid Luhn check digit)")
# PII kinds with a checkable format: (check, what a value of the kind looks like). Any other kind
# (name, address, national_id, ...) has no single format, and its value is matched as given.
FORMATS: dict[str, tuple[Callable[[str], bool], str]] = {
    "email": (_email, "an e-mail address (name@domain.tld)"),
    "phone": (_phone, "a phone number (6 to 20 digits, optionally +, spaces, dashes, brackets)"),
    "ip_address": _IP,
    "ip": _IP,
    "date_of_birth": _ISO_DATE,
    "birth_date": _ISO_DATE,
    "iban": (_iban, "an IBAN (country code, check digits and account, with a valid mod-97 checksum)"),
    "credit_card": _CARD,
    "card_number": _CARD,
    "ssn": (_ssn, "a US social security number (AAA-GG-SSSS or 9 digits, as issued)"),
    "uuid": (_uuid, "a UUID (8-4-4-4-12 hexadecimal digits)"),
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
    raise SubjectError(
        f"unknown PII kind '{kind.strip()}': no column in the store is tagged with it (tagged kinds: {listed}){hint}"
    )


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


def format_note(kind: str) -> str:
    """One line on what `check_value` checked for the kind, or that no format check applies to it."""
    check = FORMATS.get(kind.lower())
    if check:
        return f"the value was checked to be {check[1]}"
    return (
        f"no format check applies to PII kind '{kind}' (it has no single format): the value is matched "
        "exactly as given, so check it before executing"
    )


def subject_hash(kind: str, value: str, salt: bytes) -> str:
    """A keyed hash (HMAC-SHA256) of kind and value: the same subject always gives the same hash."""
    message = f"{kind.lower()}\n{value.strip()}".encode()
    return hmac.new(salt, message, hashlib.sha256).hexdigest()


def salt_for(store_path: Path | None) -> bytes:
    """The salt: the configured secret, else the one generated beside an embedded store (created on first
    use). A scaled store (`store_path` None) is shared by many machines: it needs the configured secret."""
    configured = secret(SALT_SECRET)
    if configured:
        return str(configured).encode()
    if store_path is None:
        raise SubjectError(
            f"a shared (PostgreSQL) store needs the secret {SALT_SECRET} set in .dlt/secrets.toml or "
            "the environment, so that every machine hashes subjects alike"
        )
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
