"""Bearer token → principal."""

from __future__ import annotations

from typing import Protocol

from eltiketi_core.domain.identity import Principal


class TokenVerifier(Protocol):
    async def verify(self, token: str) -> Principal:
        """Return the caller, or raise :class:`~eltiketi_core.errors.Unauthenticated`.

        Implementations check signature, issuer, audience and lifetime; the
        ``code`` of the error says which check failed.
        """
        ...
