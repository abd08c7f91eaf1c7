"""OpenID Connect discovery: the issuer's endpoints, fetched once and kept for the app's life."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from eltiketi_adapters.oidc.errors import issuer_unavailable
from eltiketi_adapters.oidc.http import get_json
from eltiketi_core.errors import GatewayUnavailable

FAILURE_RETRY_SECONDS = 5.0
"""After a failed discovery, callers get the same 503 at once for this long (no retry storm)."""


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """The parts of ``.well-known/openid-configuration`` the verifier and the web login use."""

    issuer: str
    jwks_uri: str
    introspection_endpoint: str | None
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    end_session_endpoint: str | None = None


class Discovery:
    """Fetch the discovery document on first use; concurrent first uses share one request.

    A successful answer is cached for the verifier's lifetime (endpoints do not move while the
    realm exists). A failure is not cached beyond :data:`FAILURE_RETRY_SECONDS`.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        expected_issuer: str,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._url = url
        self._expected_issuer = expected_issuer
        self._monotonic = monotonic
        self._metadata: ProviderMetadata | None = None
        self._failure: tuple[float, GatewayUnavailable] | None = None
        self._lock = asyncio.Lock()

    async def metadata(self) -> ProviderMetadata:
        if self._metadata is not None:
            return self._metadata
        async with self._lock:
            if self._metadata is not None:
                return self._metadata
            if self._failure is not None:
                failed_at, error = self._failure
                if self._monotonic() - failed_at < FAILURE_RETRY_SECONDS:
                    raise issuer_unavailable(error.detail)
            try:
                self._metadata = await self._fetch()
            except GatewayUnavailable as exc:
                self._failure = (self._monotonic(), exc)
                raise
            self._failure = None
            return self._metadata

    async def _fetch(self) -> ProviderMetadata:
        document = await get_json(self._client, self._url, "OIDC discovery")
        issuer, jwks_uri = document.get("issuer"), document.get("jwks_uri")
        if issuer != self._expected_issuer:
            # OpenID Connect Discovery 1.0 §4.3: the document must be for the configured issuer.
            raise issuer_unavailable(
                f"OIDC discovery: the document is for issuer {issuer!r}, "
                f"configured {self._expected_issuer!r}"
            )
        if not isinstance(jwks_uri, str) or not jwks_uri:
            raise issuer_unavailable("OIDC discovery: no jwks_uri")
        return ProviderMetadata(
            issuer=issuer,
            jwks_uri=jwks_uri,
            introspection_endpoint=_url(document, "introspection_endpoint"),
            authorization_endpoint=_url(document, "authorization_endpoint"),
            token_endpoint=_url(document, "token_endpoint"),
            end_session_endpoint=_url(document, "end_session_endpoint"),
        )


def _url(document: dict[str, object], name: str) -> str | None:
    value = document.get(name)
    return value if isinstance(value, str) and value else None
