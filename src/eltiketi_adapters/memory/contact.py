"""A stdlib-only contact check for the testing kit (no e-mail or phone library needed).

Good enough to tell ``alice@example.org`` from ``not-an-address``: the app uses
:class:`eltiketi_adapters.contact.StrictContactNormaliser` instead, which knows
every country's numbering plan and the fine print of e-mail syntax.
"""

from __future__ import annotations

import re

from eltiketi_core.ports.contact import InvalidContactValue

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(
    rf"^(?P<local>[^@\s\"(),:;<>\[\\\]]{{1,64}})@(?P<domain>{_LABEL}(?:\.{_LABEL})+)$"
)
_PHONE_SEPARATORS = re.compile(r"[\s().-]")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


class SimpleContactNormaliser:
    """:class:`~eltiketi_core.ports.contact.ContactNormaliser` by regular expressions:
    ``local@domain.tld`` (domain lower-cased), and international numbers written
    ``+`` country code and digits (spaces, dots, dashes and brackets dropped)."""

    def email(self, value: str) -> str:
        match = _EMAIL.match(value)
        if match is None:
            raise InvalidContactValue("it is not an e-mail address (local-part@domain.tld)")
        return f"{match['local']}@{match['domain'].lower()}"

    def phone(self, value: str) -> str:
        digits = _PHONE_SEPARATORS.sub("", value)
        if not _E164.match(digits):
            raise InvalidContactValue(
                "it is not an international phone number (+ country code, 7 to 15 digits)"
            )
        return digits
