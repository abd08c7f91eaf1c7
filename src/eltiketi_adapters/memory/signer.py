"""A ticket signer for tests: HMAC, fast, and deliberately not offline-verifiable."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import msgspec

from eltiketi_core.domain.order import TicketClaims
from eltiketi_core.errors import InvalidTicket


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class HmacTicketSigner:
    """``<kid>.<claims>.<mac>`` with HMAC-SHA256.

    For tests and the testing kit only: a shared secret cannot be published, so
    :meth:`public_jwks` is empty and scanners cannot verify offline. Production
    uses ``eltiketi_adapters.tickets.JoseTicketSigner`` (Ed25519).
    """

    def __init__(self, secret: bytes = b"eltiketi-test-secret", kid: str = "test") -> None:
        self._secret = secret
        self._kid = kid

    def sign(self, claims: TicketClaims) -> str:
        body = _b64(msgspec.json.encode(claims))
        return f"{self._kid}.{body}.{self._mac(body)}"

    def verify(self, token: str) -> TicketClaims:
        try:
            kid, body, mac = token.split(".")
        except ValueError as exc:
            raise InvalidTicket("invalid_ticket", "malformed ticket token") from exc
        if kid != self._kid or not hmac.compare_digest(mac, self._mac(body)):
            raise InvalidTicket("invalid_ticket", "the ticket's signature does not verify")
        try:
            return msgspec.json.decode(_unb64(body), type=TicketClaims)
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
            raise InvalidTicket("invalid_ticket", "malformed ticket claims") from exc

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": []}

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._secret, f"{self._kid}.{body}".encode(), hashlib.sha256).digest())
