"""The OIDC (Keycloak) implementation of the ``TokenVerifier`` port."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from eltiketi_adapters.closing import ClosedOnExit
from eltiketi_adapters.oidc.config import IntrospectionMode, OidcConfig
from eltiketi_adapters.oidc.discovery import Discovery
from eltiketi_adapters.oidc.errors import MALFORMED_TOKEN, issuer_unavailable, refused
from eltiketi_adapters.oidc.http import get_json
from eltiketi_adapters.oidc.introspection import Introspector
from eltiketi_adapters.oidc.jwks import JwksCache
from eltiketi_adapters.oidc.jwt_validation import (
    MAX_TOKEN_LENGTH,
    JwtValidator,
    looks_like_jwt,
)
from eltiketi_adapters.oidc.principal import principal_from_claims
from eltiketi_adapters.oidc.token_cache import VerifiedTokenCache
from eltiketi_adapters.system import SystemClock
from eltiketi_core.domain.identity import Principal
from eltiketi_core.errors import Unauthenticated
from eltiketi_core.ports.clock import Clock

logger = logging.getLogger("eltiketi.keycloak")

_OPAQUE_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
"""RFC 6750 ``b64token``: anything else is refused without asking the issuer."""


class OidcTokenVerifier(ClosedOnExit):
    """Bearer token -> :class:`~eltiketi_core.domain.identity.Principal`, for a Keycloak realm.

    JWT access tokens are validated locally against the issuer's JWKS (see
    :mod:`eltiketi_adapters.oidc.jwt_validation` for the checks); opaque tokens, and every
    token in ``always`` mode, are asked about at the RFC 7662 introspection endpoint.

    Create one per application and keep it for the app's lifetime (dishka ``APP`` scope): it
    owns an ``httpx.AsyncClient`` (connection pool) and the discovery, JWKS and introspection
    caches. Close it with :meth:`aclose` (or ``async with``) at shutdown.

    Raises from :meth:`verify`:
        Unauthenticated: the token is refused; ``code`` names the failed check.
        GatewayUnavailable: the issuer could not be asked (HTTP 503, retry later).

    Args:
        config: What to accept (:class:`~eltiketi_adapters.oidc.config.OidcConfig`).
        clock: Wall clock for ``exp``/``nbf``/``iat`` and the introspection cache.
        transport: httpx transport for the issuer (tests wrap the real one to count requests).
        monotonic: Time source for the JWKS rate limit and discovery retry.
    """

    def __init__(
        self,
        config: OidcConfig,
        *,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._clock = clock or SystemClock()
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=config.http_timeout_seconds,
            follow_redirects=False,
            headers={"user-agent": "eltiketi-oidc-verifier"},
        )
        self._discovery = Discovery(
            self._client, config.discovery_document_url, config.issuer, monotonic
        )
        self._jwks = JwksCache(
            self._fetch_jwks,
            min_refetch_interval=config.jwks_min_refetch_interval_seconds,
            max_age=config.jwks_max_age_seconds,
            monotonic=monotonic,
        )
        self._validator = JwtValidator(config.policy, self._jwks, self._clock)
        self._known = VerifiedTokenCache(self._jwks, self._clock)
        self._roles = config.role_mapping
        self._introspector: Introspector | None = None
        if (
            config.introspection is not IntrospectionMode.OFF
            and config.client_id
            and config.client_secret  # OidcConfig refuses introspection without them
        ):
            self._introspector = Introspector(
                self._client,
                self._introspection_endpoint,
                client_id=config.client_id,
                client_secret=config.client_secret,
                policy=config.policy,
                clock=self._clock,
                ttl_seconds=config.introspection_cache_ttl_seconds,
                max_entries=config.introspection_cache_size,
            )

    @property
    def config(self) -> OidcConfig:
        return self._config

    @property
    def jwks_fetch_attempts(self) -> int:
        """JWKS requests sent so far (metrics; the refetch rate limit's evidence)."""
        return self._jwks.fetch_attempts

    @property
    def introspection_calls(self) -> int:
        """Introspection requests sent so far (cache hits excluded)."""
        return self._introspector.calls if self._introspector else 0

    async def verify(self, token: str) -> Principal:
        """Return the caller of a bearer token (without the ``Bearer`` prefix)."""
        try:
            return await self._verified_principal(token)
        except Unauthenticated as exc:
            logger.info("bearer token refused", extra={"code": exc.code, "reason": exc.detail})
            raise

    async def _verified_principal(self, token: str) -> Principal:
        if not looks_like_jwt(token):
            return principal_from_claims(await self._opaque_claims(token), self._roles)
        always = self._config.introspection is IntrospectionMode.ALWAYS
        principal = await self._known.principal(token)
        if principal is not None:
            if always and self._introspector:  # revocation: asked on every request, as before
                try:
                    await self._introspector.active_claims(token)
                except Unauthenticated:
                    self._known.forget(token)
                    raise
            return principal
        verified = await self._validator.validate_signed(token)
        if always and self._introspector:
            await self._introspector.active_claims(token)
        principal = principal_from_claims(verified.claims, self._roles)
        self._known.remember(token, principal, verified)
        return principal

    async def _opaque_claims(self, token: str) -> Mapping[str, Any]:
        if self._introspector is None:
            raise refused(MALFORMED_TOKEN, "not a JWT, and introspection is off")
        if len(token) > MAX_TOKEN_LENGTH or not _OPAQUE_TOKEN.fullmatch(token):
            raise refused(MALFORMED_TOKEN, "not a JWT nor an RFC 6750 bearer token")
        return await self._introspector.active_claims(token)

    async def prefetch(self) -> None:
        """Load discovery and the JWKS now (app start-up, readiness); raises GatewayUnavailable."""
        await self._discovery.metadata()
        await self._jwks.refresh()

    async def _fetch_jwks(self) -> dict[str, Any]:
        metadata = await self._discovery.metadata()
        return await get_json(self._client, metadata.jwks_uri, "JWKS")

    async def _introspection_endpoint(self) -> str:
        metadata = await self._discovery.metadata()
        if metadata.introspection_endpoint is None:
            raise issuer_unavailable("OIDC discovery: the issuer has no introspection_endpoint")
        return metadata.introspection_endpoint

    async def aclose(self) -> None:
        """Close the HTTP client (app shutdown)."""
        await self._client.aclose()
