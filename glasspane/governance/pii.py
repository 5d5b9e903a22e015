"""Suspected personal data: column names that look like PII, judged by name alone.

Glasspane never reads data values, so a suspicion says why the *name* looks personal; a person
then confirms it (and adds dlt's `x-annotation-pii` hint) or dismisses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# (kind, words that suggest it). Matched against the column name's words (split on `_`, `-`,
# digits and camelCase), or the whole name for the compound forms.
_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("email", ("email", "e_mail", "mail", "emailaddress")),
    ("phone", ("phone", "mobile", "msisdn", "telephone", "tel", "fax", "cellphone", "phonenumber")),
    ("ip_address", ("ip", "ipv4", "ipv6", "ipaddress", "ip_address", "client_ip", "remote_addr")),
    (
        "name",
        (
            "first_name",
            "firstname",
            "last_name",
            "lastname",
            "surname",
            "full_name",
            "fullname",
            "given_name",
            "givenname",
            "family_name",
            "familyname",
            "middle_name",
            "middlename",
            "maidenname",
            "user_name",
            "username",
            "display_name",
            "contact_name",
            "customer_name",
        ),
    ),
    (
        "address",
        (
            "address",
            "street",
            "streetname",
            "addr",
            "zip",
            "zipcode",
            "postcode",
            "postal",
            "postalcode",
            "house_number",
            "city",
        ),
    ),
    ("date_of_birth", ("birth", "birthday", "birthdate", "dob", "date_of_birth", "birth_date")),
    (
        "national_id",
        (
            "ssn",
            "social_security",
            "national_id",
            "nationalid",
            "passport",
            "tax_id",
            "taxid",
            "nino",
            "insurance_number",
            "driver_license",
            "drivers_license",
            "personnummer",
        ),
    ),
    (
        "financial",
        (
            "iban",
            "bic",
            "swift",
            "account_number",
            "accountnumber",
            "card_number",
            "cardnumber",
            "credit_card",
            "creditcard",
            "cc_number",
            "cvv",
            "pan",
        ),
    ),
    ("geolocation", ("latitude", "longitude", "lat", "lng", "lon", "geolocation", "gps")),
    ("health", ("diagnosis", "medical", "blood_type", "allergy")),
    ("gender", ("gender", "sex")),
)
# Names that contain a rule's word but are not personal (dlt's own columns, common non-personal names).
_NOT_PERSONAL = re.compile(
    r"^_dlt_|^(table|schema|pipeline|file|host|column|dataset|project|bucket|resource|job|step|"
    r"event|product|company|domain|queue|topic|template|sender_domain)_?name$|(^|_)mail_?(server|host|id)$"
)


@dataclass(frozen=True)
class Suspicion:
    """Why a column name looks like personal data."""

    kind: str
    reason: str


def _words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return [w for w in re.split(r"[^a-zA-Z]+", spaced.lower()) if w]


# Tables of people, where a column called just `name` is a person's name.
_PEOPLE_TABLES = frozenset(
    ("user", "users", "customer", "customers", "person", "people", "employee", "employees", "contact", "contacts")
    + ("member", "members", "patient", "patients")
)


def rules_fingerprint() -> str:
    """The suspicion rules, as text: part of the store's fingerprint (`glasspane.store.schema_fingerprint`),
    so that a store whose names were judged by other rules judges them all again."""
    return repr((_RULES, _NOT_PERSONAL.pattern, sorted(_PEOPLE_TABLES)))


def suspect(column_name: str, table_name: str = "") -> Suspicion | None:
    """A suspicion for a column name, or None when it does not look personal."""
    lowered = column_name.lower()
    if _NOT_PERSONAL.search(lowered):
        return None
    words = _words(column_name)
    joined = "_".join(words)
    compact = "".join(words)
    for kind, markers in _RULES:
        for marker in markers:
            if "_" in marker or len(marker) > 6:
                if marker in joined or marker.replace("_", "") == compact:
                    return Suspicion(kind, f"name contains '{marker}'")
            elif marker in words:
                return Suspicion(kind, f"name has the word '{marker}'")
    if words == ["name"] and table_name and set(_words(table_name)) & _PEOPLE_TABLES:
        return Suspicion("name", f"'name' in a table of people ('{table_name}')")
    return None
