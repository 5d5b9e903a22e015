"""A data subject's value against its PII kind's format: what is refused, what passes, and the kinds that
have no format to check."""

from __future__ import annotations

import pytest

from glasspane.governance.subjects import SubjectError, check_value, format_note

# (kind, values a user would type that fit, values that are typos or of another kind)
FORMATTED = [
    ("email", ["ana@example.com"], ["ana@example", "ana example.com"]),
    ("phone", ["+44 20 7946 0018", "(030) 1234-567"], ["call me", "12"]),
    ("ip_address", ["192.0.2.7", "2001:db8::1"], ["192.0.2.256"]),
    ("date_of_birth", ["1990-02-28"], ["1990-02-30", "28/02/1990"]),
    (
        "iban",
        ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000"],
        ["GB82 WEST 1234 5698 7654 33", "DE8937040044"],
    ),  # one digit off: the mod-97 checksum fails
    (
        "credit_card",
        ["4111 1111 1111 1111", "5500-0000-0000-0004"],
        ["4111 1111 1111 1112", "4111 1111", "4111 1111 1111 111a"],
    ),  # a typo fails the Luhn check
    ("card_number", ["378282246310005"], ["378282246310006"]),
    ("ssn", ["123-45-6789", "123456789"], ["666-12-3456", "123-00-6789", "123-456789", "12-345-6789"]),
    ("uuid", ["123e4567-e89b-12d3-a456-426614174000"], ["123e4567e89b12d3a456426614174000", "not-a-uuid"]),
]


@pytest.mark.parametrize(("kind", "good", "bad"), FORMATTED, ids=[k for k, _, _ in FORMATTED])
def test_values_are_checked_against_their_kinds_format_and_refused_without_echoing(kind, good, bad):
    for value in good:
        assert check_value(kind, f" {value} ") == value
    for value in bad:
        with pytest.raises(SubjectError) as refused:
            check_value(kind, value)
        message = str(refused.value)
        assert message.startswith("the value does not look like ") and f"as PII kind '{kind}' requires" in message
        assert value not in message
    assert format_note(kind).startswith("the value was checked to be ")


def test_the_kind_is_matched_case_insensitively():
    assert check_value("IBAN", "GB82WEST12345698765432") == "GB82WEST12345698765432"
    with pytest.raises(SubjectError, match="mod-97 checksum"):
        check_value("Iban", "GB00WEST12345698765432")


@pytest.mark.parametrize("kind", ["name", "address", "national_id", "gender"])
def test_kinds_without_a_format_accept_any_one_line_value_and_say_no_check_applies(kind):
    assert check_value(kind, "  Ana María O'Brien  ") == "Ana María O'Brien"
    assert format_note(kind) == (
        f"no format check applies to PII kind '{kind}' (it has no single format): the value is matched exactly "
        "as given, so check it before executing"
    )
    with pytest.raises(SubjectError, match="must be one line"):
        check_value(kind, "two\nlines")
    with pytest.raises(SubjectError, match="empty value"):
        check_value(kind, "   ")
