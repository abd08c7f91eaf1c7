"""Where a booking's e-tickets go: the request's ``contact``, else the token's.

A booking needs at least one usable channel, or its paid order would silently
get no e-ticket. The request's contact is the buyer's explicit choice, so a bad
value there is refused (``invalid_contact``, naming the field: ``email`` or ``phone``). The token's
claims are not the buyer's input in this request: a bad claim is dropped and the
other channel used, and only when nothing usable is left is the booking refused
(``contact_required``).

The hard limits (length, control characters such as NUL or the CR/LF of a
``\\r\\nBcc:`` header) are checked here, whatever normaliser is plugged in; the
syntax itself is the :class:`~eltiketi_core.ports.contact.ContactNormaliser`'s.
"""

from __future__ import annotations

from collections.abc import Callable

from eltiketi_core.domain.booking import Contact
from eltiketi_core.domain.identity import Principal
from eltiketi_core.errors import ContactRequired, InvalidContact
from eltiketi_core.ports.contact import ContactNormaliser, InvalidContactValue

#: RFC 5321: a forward path holds at most 254 characters of address.
MAX_EMAIL_LENGTH = 254
#: As typed, separators included: E.164 has at most 15 digits.
MAX_PHONE_LENGTH = 32


def booking_contact(
    requested: Contact | None, principal: Principal, normaliser: ContactNormaliser | None
) -> Contact:
    """The contact to store on a new booking, normalised; raise ``invalid_contact`` or
    ``contact_required``. ``normaliser`` None checks only the core's hard limits."""
    given = requested_contact(requested, normaliser)
    if given is not None:
        return given
    contact = Contact(
        email=_usable(principal.email, _email_rule(normaliser), MAX_EMAIL_LENGTH),
        phone=_usable(principal.phone, _phone_rule(normaliser), MAX_PHONE_LENGTH),
    )
    if contact.email is None and contact.phone is None:
        raise ContactRequired(
            "contact_required",
            "a booking needs somewhere to send the tickets: give contact.email or "
            "contact.phone (the token carries neither a usable e-mail nor a phone number)",
        )
    return contact


def requested_contact(
    requested: Contact | None, normaliser: ContactNormaliser | None
) -> Contact | None:
    """A contact the buyer typed, normalised; None when it is absent or blank (so the
    caller decides what that means); ``invalid_contact`` naming the ``field`` (``email``
    or ``phone``) for a value that is not well formed."""
    if requested is None or not (_given(requested.email) or _given(requested.phone)):
        return None
    return Contact(
        email=_checked(requested.email, "email", _email_rule(normaliser), MAX_EMAIL_LENGTH),
        phone=_checked(requested.phone, "phone", _phone_rule(normaliser), MAX_PHONE_LENGTH),
    )


_Rule = Callable[[str], str]


def _email_rule(normaliser: ContactNormaliser | None) -> _Rule:
    return normaliser.email if normaliser is not None else _as_is


def _phone_rule(normaliser: ContactNormaliser | None) -> _Rule:
    return normaliser.phone if normaliser is not None else _as_is


def _as_is(value: str) -> str:
    return value


def _given(value: str | None) -> bool:
    return value is not None and value.strip() != ""


def _checked(value: str | None, field: str, rule: _Rule, limit: int) -> str | None:
    """The normalised value of a request field; None when absent or blank."""
    if not _given(value):
        return None
    assert value is not None
    try:
        return _normalised(value, rule, limit)
    except InvalidContactValue as bad:
        raise InvalidContact(
            "invalid_contact", f"contact.{field}: {bad.reason}", field=field, reason=bad.reason
        ) from None


def _usable(value: str | None, rule: _Rule, limit: int) -> str | None:
    """A token claim, normalised, or None if it is absent or not usable."""
    if not _given(value):
        return None
    assert value is not None
    try:
        return _normalised(value, rule, limit)
    except InvalidContactValue:
        return None


def _normalised(value: str, rule: _Rule, limit: int) -> str:
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise InvalidContactValue("it contains control characters (such as NUL, CR or LF)")
    value = value.strip()
    if len(value) > limit:
        raise InvalidContactValue(f"it is longer than {limit} characters")
    return rule(value)
