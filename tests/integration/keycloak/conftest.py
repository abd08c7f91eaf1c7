"""Verifiers wired to the real OIDC server (``oidc_server`` fixture from ``tests.infra``).

Each verifier's httpx transport is the real one, wrapped only to count the requests it sends,
so tests can assert how often the issuer's JWKS and introspection endpoints were hit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from eltiketi_adapters.oidc import IntrospectionMode, OidcConfig, OidcTokenVerifier
from tests.infra.oidc import API_AUDIENCE, OidcServer
from tests.unit.adapters.oidc.forge import MovableClock, Ticker


class CountingTransport(httpx.AsyncBaseTransport):
    """The real HTTP transport, counting requests by last path segment (``certs``, ...)."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.requests: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests[request.url.path.rsplit("/", 1)[-1]] += 1
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()

    @property
    def jwks_fetches(self) -> int:
        return self.requests["certs"]

    @property
    def introspections(self) -> int:
        return self.requests["introspect"]


@dataclass
class Harness:
    """A verifier for the real issuer, its counting transport, and the time sources it uses."""

    verifier: OidcTokenVerifier
    transport: CountingTransport
    clock: MovableClock
    ticker: Ticker = field(default_factory=Ticker)


HarnessFactory = Callable[..., Harness]


def introspection_settings(
    server: OidcServer, mode: IntrospectionMode = IntrospectionMode.OPAQUE_ONLY
) -> dict[str, Any]:
    return {
        "introspection": mode,
        "client_id": server.api_client_id,
        "client_secret": server.api_client_secret,
    }


@pytest.fixture
async def make_harness(oidc_server: OidcServer) -> AsyncIterator[HarnessFactory]:
    """``make_harness(server=None, **OidcConfig settings)``; verifiers closed after the test."""
    made: list[Harness] = []

    def make(server: OidcServer | None = None, **settings: Any) -> Harness:
        server = server or oidc_server
        config = OidcConfig(**({"issuer": server.issuer, "audience": API_AUDIENCE} | settings))
        transport, clock, ticker = CountingTransport(), MovableClock(), Ticker()
        verifier = OidcTokenVerifier(config, clock=clock, transport=transport, monotonic=ticker)
        harness = Harness(verifier=verifier, transport=transport, clock=clock, ticker=ticker)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        await harness.verifier.aclose()
