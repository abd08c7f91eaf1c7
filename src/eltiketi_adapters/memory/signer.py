"""A ticket signer for tests: HMAC, fast, and deliberately not offline-verifiable."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import msgspec

from eltiketi_core.domain.order import TicketClaims
from eltiketi_core.errors import InvalidTicket

_claims_decoder = msgspec.json.Decoder(TicketClaims)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class HmacTicketSigner:
    """Tokens ``<kid>.<base64url(JSON claims)>.<base64url(HMAC-SHA256)>``
    (implements :class:`~eltiketi_core.ports.TicketSigner`).

    For tests and the testing kit only. The MAC covers the kid and the claims,
    and retired keys still verify, so rotation can be tested; but a shared
    secret cannot be published, so scanners cannot verify these tokens offline.
    Production uses ``eltiketi_adapters.tickets.JoseTicketSigner`` (Ed25519 JWS).

    Args:
        secret: the current key.
        kid: the current key's id (no dots).
        retired: earlier keys by kid: they verify old tokens, never sign new ones.
    """

    def __init__(
        self,
        secret: bytes = b"eltiketi-test-secret",
        kid: str = "test",
        *,
        retired: Mapping[str, bytes] | None = None,
    ) -> None:
        if not kid or "." in kid:
            raise ValueError("a kid must be non-empty and contain no dot")
        self._kid = kid
        self._keys = {**(retired or {}), kid: secret}

    @property
    def kid(self) -> str:
        return self._kid

    def sign(self, claims: TicketClaims) -> str:
        body = _b64(msgspec.json.encode(claims))
        return f"{self._kid}.{body}.{self._mac(self._kid, body)}"

    def verify(self, token: str) -> TicketClaims:
        parts = token.split(".")
        if len(parts) != 3:
            raise InvalidTicket("invalid_ticket", "malformed ticket token")
        kid, body, mac = parts
        if kid not in self._keys:
            raise InvalidTicket("invalid_ticket", "the ticket was signed with an unknown key")
        if not hmac.compare_digest(mac, self._mac(kid, body)):
            raise InvalidTicket("invalid_ticket", "the ticket's signature does not verify")
        try:
            return _claims_decoder.decode(_unb64(body))
        except (msgspec.DecodeError, binascii.Error, ValueError) as exc:
            raise InvalidTicket("invalid_ticket", "malformed ticket claims") from exc

    def public_jwks(self) -> dict[str, Any]:
        """Always ``{"keys": []}``: HMAC keys are secrets, nothing here is public.

        This signer is for tests; its tokens are not offline-verifiable. Use the
        Ed25519 signer of ``eltiketi_adapters.tickets`` where scanners verify.
        """
        return {"keys": []}

    def _mac(self, kid: str, body: str) -> str:
        digest = hmac.new(self._keys[kid], f"{kid}.{body}".encode(), hashlib.sha256).digest()
        return _b64(digest)
