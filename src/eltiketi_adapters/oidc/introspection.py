"""RFC 7662 token introspection with a short positive-answer cache.

The cache trades freshness for load: an ``active: true`` answer is reused for at most
``ttl`` seconds and never past the token's ``exp``. Hence a token revoked at the issuer keeps
working for at most ``ttl`` seconds after its last successful introspection. Negative answers
are never cached (a refused token costs an introspection call each time, like any bad login).
Tokens are cached under their SHA-256, never in clear.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import httpx

from eltiketi_adapters.oidc.errors import TOKEN_INACTIVE, refused
from eltiketi_adapters.oidc.http import post_form
from eltiketi_adapters.oidc.jwt_validation import JwtPolicy, check_claims
from eltiketi_core.ports.clock import Clock

logger = logging.getLogger("eltiketi.keycloak")

EndpointSource = Callable[[], Awaitable[str]]


def rfc6749_basic_auth(client_id: str, client_secret: str) -> httpx.BasicAuth:
    """HTTP Basic credentials form-urlencoded first, as RFC 6749 §2.3.1 asks (Keycloak decodes)."""
    return httpx.BasicAuth(quote(client_id, safe=""), quote(client_secret, safe=""))


class Introspector:
    """Ask the issuer whether a token is active, authenticating as a confidential client.

    Args:
        client: The verifier's HTTP client.
        endpoint: Returns the introspection endpoint URL (from discovery).
        client_id: Confidential client allowed to introspect (HTTP Basic).
        client_secret: Its secret.
        policy: Issuer/audience/lifetime rules the answer must also satisfy.
        clock: Wall clock for ``exp`` and cache expiry.
        ttl_seconds: Upper bound of a cached positive answer's life; ``0`` disables caching.
        max_entries: Cache size bound; the oldest entry is evicted first.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        endpoint: EndpointSource,
        *,
        client_id: str,
        client_secret: str,
        policy: JwtPolicy,
        clock: Clock,
        ttl_seconds: float = 30.0,
        max_entries: int = 10_000,
    ) -> None:
        self._client = client
        self._endpoint = endpoint
        self._auth = rfc6749_basic_auth(client_id, client_secret)
        self._policy = policy
        self._clock = clock
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._cache: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self.calls = 0
        """Introspection requests sent (for metrics and tests)."""

    async def active_claims(self, token: str) -> dict[str, Any]:
        """The introspection answer for an active, acceptable token; else ``Unauthenticated``."""
        cache_key = hashlib.sha256(token.encode()).hexdigest()
        now = self._clock.now()
        cached = self._cache.get(cache_key)
        if cached is not None:
            expires_at, claims = cached
            if now.timestamp() < expires_at:
                return claims
            del self._cache[cache_key]
        claims = await self._ask(token)
        # Checked before caching: an answer for another audience or issuer is a refusal.
        check_claims(claims, self._policy, now, require_issuer=False, require_expiry=False)
        self._remember(cache_key, claims, now.timestamp())
        return claims

    async def _ask(self, token: str) -> dict[str, Any]:
        endpoint = await self._endpoint()
        self.calls += 1
        answer = await post_form(
            self._client,
            endpoint,
            "token introspection",
            data={"token": token, "token_type_hint": "access_token"},
            auth=self._auth,
        )
        if answer.get("active") is not True:
            raise refused(TOKEN_INACTIVE, "the issuer says this token is not active")
        return answer

    def _remember(self, cache_key: str, claims: dict[str, Any], now: float) -> None:
        expires_at = now + self._ttl
        token_expiry = claims.get("exp")
        if isinstance(token_expiry, int | float) and not isinstance(token_expiry, bool):
            expires_at = min(expires_at, float(token_expiry))
        if expires_at <= now:
            return
        self._cache[cache_key] = (expires_at, claims)
        while len(self._cache) > self._max_entries:
            self._cache.popitem(last=False)
