"""E-mail syntax by ``email-validator`` (no DNS), phone numbers by ``phonenumbers`` (E.164)."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from eltiketi_core.ports.contact import InvalidContactValue

CACHE_SIZE = 4096
"""Checked values remembered per normaliser (least recently used out)."""


class StrictContactNormaliser:
    """:class:`~eltiketi_core.ports.contact.ContactNormaliser` for the app.

    E-mail: RFC syntax, the local part at most 64 characters, no quoted local
    parts or IP-literal domains, and no special-use domain (``.invalid``,
    ``.localhost``, ``.local``…), which can never receive mail. Deliverability
    is not checked: there may be no DNS, and a slow resolver must not stall a
    booking. The result is the library's normalised form (domain lower-cased,
    Unicode normalised).

    Phone: a number valid in its country's numbering plan, without extension,
    as E.164. Numbers without ``+`` need ``default_region``.

    Args:
        allow_test_domains: accept ``.test`` domains (RFC 6761), for try-outs and
            test suites; production refuses them.
        default_region: ISO 3166 country code (``"DE"``) for numbers written
            without the international prefix; None requires ``+``.
    """

    def __init__(self, *, allow_test_domains: bool = False, default_region: str | None = None):
        if default_region is not None:
            default_region = default_region.upper()
            if default_region not in phonenumbers.SUPPORTED_REGIONS:
                raise ValueError(f"{default_region!r} is not a region phonenumbers knows")
        self._allow_test_domains = allow_test_domains
        self._region = default_region
        # A buyer's address comes with every hold (from the token or the form) and costs
        # ~30 µs to check; the answer depends on the value alone. Refusals are not kept.
        self._checked_email = lru_cache(maxsize=CACHE_SIZE)(self._email)
        self._checked_phone = lru_cache(maxsize=CACHE_SIZE)(self._phone)

    def email(self, value: str) -> str:
        """The normalised address, or :class:`InvalidContactValue` saying what is wrong."""
        return self._checked_email(value)

    def phone(self, value: str) -> str:
        """The number in E.164, or :class:`InvalidContactValue` saying what is wrong."""
        return self._checked_phone(value)

    def _email(self, value: str) -> str:
        try:
            checked = validate_email(
                value,
                check_deliverability=False,
                test_environment=self._allow_test_domains,
                strict=True,
            )
        except EmailNotValidError as bad:
            raise InvalidContactValue(str(bad)) from None
        return str(checked.normalized)

    def _phone(self, value: str) -> str:
        try:
            number = phonenumbers.parse(value, self._region)
        except phonenumbers.NumberParseException as bad:
            raise InvalidContactValue(self._parse_failure(bad.error_type, value)) from None
        if number.extension:
            raise InvalidContactValue("a number with an extension cannot receive text messages")
        if not phonenumbers.is_valid_number(number):
            raise InvalidContactValue("it is not a valid number in its country's numbering plan")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def _parse_failure(self, error_type: int, value: str) -> str:
        if error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            if self._region is None and not value.startswith("+"):
                return "write it in international form: + and the country code"
            return "its country code is unknown"
        if error_type == phonenumbers.NumberParseException.TOO_LONG:
            return "it is too long for a phone number"
        if error_type == phonenumbers.NumberParseException.NOT_A_NUMBER:
            return "it is not a phone number"
        return "it is too short for a phone number"
