"""Principals of verified JWT access tokens, remembered until the token's ``exp``.

A client sends the same access token with every request for minutes. Checking its signature
costs 0.2–1 ms, and even the parsing, claim checks and role mapping that remain once the
signature is known to be good cost ~10 µs a request. So both token verifiers (OIDC and the
embedded dev issuer) remember the :class:`~eltiketi_core.domain.identity.Principal` of a token
that passed every check, and answer its next requests from memory. The rules that keep this
as safe as checking again (``docs/keycloak.md`` §3–§5):

* **Keyed by the token's SHA-256**, never by the token in clear: a memory dump holds no bearer
  tokens, and two tokens that share a prefix (the same header and claims, another signature)
  are two entries.
* **Never past ``exp``**: an entry is dropped at the token's ``exp``, without the clock-skew
  leeway; after that the full check runs again, which grants the leeway and then refuses the
  token (``token_expired``).
* **Key rotation**: an entry is used only while the key source still gives, for the token's
  ``kid``, the very key that checked the signature; a key the issuer withdrew (or replaced
  under the same ``kid``) drops its tokens at the next JWKS fetch, exactly as before.
* **Revocation**: the cache only replaces the local JWT checks. With introspection ``always``
  the verifier still asks the introspector on every request (its own cache bounds the
  revocation delay by ``ELTIKETI_OIDC_CACHE_SECONDS``); opaque tokens are never kept here.
* **Bounded**: at most ``max_entries`` tokens, the least recently used out first.

Safe to share between concurrent requests of one event loop.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from joserfc.jwk import Key

from eltiketi_adapters.oidc.jwt_validation import KeyResolver, VerifiedJwt
from eltiketi_core.domain.identity import Principal
from eltiketi_core.errors import GatewayUnavailable, Unauthenticated
from eltiketi_core.ports.clock import Clock

DEFAULT_MAX_ENTRIES = 4096
"""Tokens remembered per verifier (~1 KiB each): more than the buyers active in a few minutes."""


@dataclass(frozen=True, slots=True)
class _Entry:
    principal: Principal
    expires: float
    kid: str
    key: Key


def token_digest(token: str) -> bytes:
    """The cache key of a bearer token: its SHA-256."""
    return hashlib.sha256(token.encode()).digest()


class VerifiedTokenCache:
    """Bearer token (by SHA-256) → the principal its verification produced, until ``exp``.

    Args:
        keys: The key source the tokens were verified with (checked again on every hit).
        clock: Wall clock for ``exp``.
        max_entries: Bound of the cache (LRU); ``0`` remembers nothing.
    """

    def __init__(
        self, keys: KeyResolver, clock: Clock, *, max_entries: int = DEFAULT_MAX_ENTRIES
    ) -> None:
        self._keys = keys
        self._clock = clock
        self._max_entries = max_entries
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def principal(self, token: str) -> Principal | None:
        """The remembered principal, or ``None``: then the token must be checked in full."""
        digest = token_digest(token)
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if self._clock.now().timestamp() >= entry.expires:
            del self._entries[digest]
            return None
        try:
            current = await self._keys.key_for(entry.kid)
        except (Unauthenticated, GatewayUnavailable):
            current = None  # the full check gives the answer (unknown_key, or 503)
        if current is not entry.key:
            self._entries.pop(digest, None)
            return None
        self._entries.move_to_end(digest)
        return entry.principal

    def remember(self, token: str, principal: Principal, verified: VerifiedJwt) -> None:
        """Keep ``principal`` for ``token``, which passed every check, until its ``exp``."""
        expires = verified.claims.get("exp")
        if self._max_entries <= 0 or not isinstance(expires, int | float):
            return
        digest = token_digest(token)
        self._entries[digest] = _Entry(principal, float(expires), verified.kid, verified.key)
        self._entries.move_to_end(digest)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def forget(self, token: str) -> None:
        """Drop a token (the issuer said it is no longer active)."""
        self._entries.pop(token_digest(token), None)
