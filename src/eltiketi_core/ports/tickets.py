"""Signing ticket tokens that a scanner can verify offline."""

from __future__ import annotations

from typing import Any, Protocol

from eltiketi_core.domain.order import TicketClaims


class TicketSigner(Protocol):
    def sign(self, claims: TicketClaims) -> str:
        """A compact signed token (the QR payload) with the current key."""
        ...

    def verify(self, token: str) -> TicketClaims:
        """Claims of a token signed by any known key, current or retired.

        Raises :class:`~eltiketi_core.errors.InvalidTicket` for a bad signature,
        an unknown key or a malformed token. Ticket status is not its business.
        """
        ...

    def public_jwks(self) -> dict[str, Any]:
        """Every public key, rotated-out ones included, as a JWK set."""
        ...
