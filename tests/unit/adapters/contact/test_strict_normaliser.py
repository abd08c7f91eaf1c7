"""The app's contact checks (email-validator, phonenumbers), through the core's rule."""

from __future__ import annotations

import pytest

from eltiketi_adapters.contact import StrictContactNormaliser
from eltiketi_adapters.memory import SimpleContactNormaliser
from eltiketi_core.domain.booking import Contact
from eltiketi_core.domain.identity import Principal
from eltiketi_core.errors import ContactRequired, InvalidContact
from eltiketi_core.ports.contact import ContactNormaliser, InvalidContactValue
from eltiketi_core.usecases.contact import MAX_EMAIL_LENGTH, booking_contact

STRICT = StrictContactNormaliser()
ALICE = Principal(subject="alice")

BAD_EMAILS = [
    "alice\x00@example.org",
    "alice@example.org\r\nBcc: everyone@example.org",
    "alice@example.org\nBcc: everyone@example.org",
    "not-an-address",
    "alice@",
    "alice@example",
    "a" * 65 + "@example.org",
    "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + "." + "e" * 63 + ".org",
    '"quoted local"@example.org',
    "alice@[127.0.0.1]",
    "alice@localhost.localhost",
    "alice@bench.invalid",
]
BAD_PHONES = [
    "not-a-phone",
    "+49 30 1234567\x00",
    "+49 30 1234567\r\nBcc: x@example.org",
    "030 1234567",  # no country, no default region
    "+999 1234567",  # no such country code
    "+49 1",
    "+49" + "1" * 40,
    "+1 415 555 2671 ext 9",
]


def _reserve_with(contact: Contact, normaliser: ContactNormaliser | None = STRICT) -> Contact:
    return booking_contact(contact, ALICE, normaliser)


@pytest.mark.parametrize("email", BAD_EMAILS)
def test_a_bad_email_is_invalid_contact_naming_the_field(email: str) -> None:
    with pytest.raises(InvalidContact) as refused:
        _reserve_with(Contact(email=email))
    assert refused.value.extra["field"] == "email"
    assert refused.value.extra["reason"]


@pytest.mark.parametrize("phone", BAD_PHONES)
def test_a_bad_phone_is_invalid_contact_naming_the_field(phone: str) -> None:
    with pytest.raises(InvalidContact) as refused:
        _reserve_with(Contact(email="alice@example.org", phone=phone))
    assert refused.value.extra["field"] == "phone"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (Contact(email="Alice@Example.ORG"), Contact(email="Alice@example.org")),
        (Contact(email="  alice@example.org "), Contact(email="alice@example.org")),
        (Contact(email="jörg@bücher.de"), Contact(email="jörg@bücher.de")),
        (Contact(phone="+49 30 1234567"), Contact(phone="+49301234567")),
        (Contact(phone="+1 (415) 555-2671"), Contact(phone="+14155552671")),
        (Contact(phone="+995 555 12 34 56"), Contact(phone="+995555123456")),
    ],
)
def test_a_good_contact_is_stored_normalised(given: Contact, stored: Contact) -> None:
    assert _reserve_with(given) == stored


def test_the_test_domain_needs_the_flag() -> None:
    with pytest.raises(InvalidContactValue):
        STRICT.email("alice@example.test")
    assert StrictContactNormaliser(allow_test_domains=True).email("alice@example.test") == (
        "alice@example.test"
    )
    with pytest.raises(InvalidContactValue):
        StrictContactNormaliser(allow_test_domains=True).email("alice@bench.invalid")


def test_remembered_answers_stay_per_normaliser_and_refusals_are_not_remembered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from eltiketi_adapters.contact import normaliser

    checked: list[str] = []
    real = normaliser.validate_email  # type: ignore[attr-defined]

    def counting(value: str, **options: object) -> object:
        checked.append(value)
        return real(value, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(normaliser, "validate_email", counting)
    lenient = StrictContactNormaliser(allow_test_domains=True)
    strict = StrictContactNormaliser()
    for _ in range(3):
        assert lenient.email("Alice@Example.TEST") == "Alice@example.test"
        with pytest.raises(InvalidContactValue):
            strict.email("Alice@Example.TEST")
    assert checked == ["Alice@Example.TEST"] * 4  # once for lenient, every time for strict
    german = StrictContactNormaliser(default_region="de")
    assert german.phone("030 1234567") == german.phone("030 1234567") == "+49301234567"
    with pytest.raises(InvalidContactValue):
        StrictContactNormaliser().phone("030 1234567")


def test_a_default_region_reads_national_numbers() -> None:
    german = StrictContactNormaliser(default_region="de")
    assert german.phone("030 1234567") == "+49301234567"
    assert german.phone("+44 7911 123456") == "+447911123456"
    with pytest.raises(ValueError, match="XX"):
        StrictContactNormaliser(default_region="XX")


def test_token_claims_that_do_not_check_out_are_dropped() -> None:
    principal = Principal(subject="odd", email="odd\x00@example.org", phone="+49 30 1234567")
    assert booking_contact(None, principal, STRICT) == Contact(phone="+49301234567")
    with pytest.raises(ContactRequired):
        booking_contact(None, Principal(subject="odd", email="x@bench.invalid"), STRICT)


@pytest.mark.parametrize(
    "normaliser", [None, SimpleContactNormaliser(), STRICT], ids=["core", "kit", "app"]
)
@pytest.mark.parametrize(
    "contact",
    [
        Contact(email="alice\x00@example.org"),
        Contact(email="alice@example.org\r\nBcc: everyone@example.org"),
        Contact(email="a" * MAX_EMAIL_LENGTH + "@example.org"),
        Contact(phone="+49 30 1234567\r\n"),
    ],
)
def test_control_characters_and_oversized_values_never_pass_whatever_the_normaliser(
    normaliser: ContactNormaliser | None, contact: Contact
) -> None:
    with pytest.raises(InvalidContact):
        _reserve_with(contact, normaliser)


@pytest.mark.parametrize("email", BAD_EMAILS[:6])
def test_the_kits_normaliser_refuses_the_obvious_cases_too(email: str) -> None:
    with pytest.raises(InvalidContact):
        _reserve_with(Contact(email=email), SimpleContactNormaliser())
