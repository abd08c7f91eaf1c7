"""Checking where e-tickets go: the syntax of e-mail addresses and phone numbers.

The core decides *that* a booking needs a usable contact and refuses control
characters and oversized values itself (:mod:`eltiketi_core.usecases.contact`);
whether ``alice@example.org`` or ``+49 30 1234567`` is well formed, and what its
canonical form is, is a question for a library, so it sits behind this port.
"""

from __future__ import annotations

from typing import Protocol


class InvalidContactValue(ValueError):
    """A value that is not an e-mail address (or phone number); ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class ContactNormaliser(Protocol):
    """Syntax checks only: no DNS, no network, so a slow resolver never stalls a booking."""

    def email(self, value: str) -> str:
        """The address in canonical form (domain lower-cased); raise
        :class:`InvalidContactValue` if it is not a deliverable-looking address."""
        ...

    def phone(self, value: str) -> str:
        """The number in E.164 (``+4930123456``); raise :class:`InvalidContactValue`
        if it is not a valid phone number."""
        ...
