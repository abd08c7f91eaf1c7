"""ELTIKETI_OIDC_* at start-up: the issuer is checked early, and the cache knobs reach the verifier.

A small local HTTP server plays the issuer (discovery document and JWKS), so the
verifier's real HTTP path runs; the server can hold its answer to show that
embedded start-up does not wait for it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from joserfc.jwk import ECKey
from structlog.testing import capture_logs

from eltiketi_adapters.oidc import OidcTokenVerifier
from eltiketi_app.ioc.container import make_container
from eltiketi_app.settings import Mode, Settings
from eltiketi_core.ports.identity import TokenVerifier

REALM = "/realms/eltiketi"


@dataclass
class FakeIssuer:
    """Answers discovery and JWKS; ``claims_issuer`` is the ``issuer`` its document names."""

    base: str = ""
    claims_issuer: str | None = None
    release: asyncio.Event = field(default_factory=asyncio.Event)
    requests: list[str] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return self.base + REALM

    def answer(self, path: str) -> dict[str, Any]:
        if path.endswith("/.well-known/openid-configuration"):
            return {
                "issuer": self.claims_issuer or self.issuer,
                "jwks_uri": self.issuer + "/protocol/openid-connect/certs",
            }
        key = ECKey.generate_key("P-256").as_dict(private=False)
        return {"keys": [{**key, "kid": "k1", "use": "sig", "alg": "ES256"}]}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        path = request.split(b" ", 2)[1].decode()
        self.requests.append(path)
        await self.release.wait()
        body = json.dumps(self.answer(path)).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
            + f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()


@asynccontextmanager
async def fake_issuer(
    *, claims_issuer: str | None = None, hold: bool = False
) -> AsyncIterator[FakeIssuer]:
    issuer = FakeIssuer(claims_issuer=claims_issuer)
    if not hold:
        issuer.release.set()
    server = await asyncio.start_server(issuer.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    issuer.base = f"http://127.0.0.1:{port}"
    try:
        yield issuer
    finally:
        issuer.release.set()
        server.close()
        await server.wait_closed()


def oidc_settings(issuer: str, mode: Mode, **changes: Any) -> Settings:
    """Only identity is resolved; Stripe is named so production's graph is complete."""
    return Settings(
        mode=mode,
        database_url="memory://",
        oidc_issuer=issuer,
        oidc_audience="api",
        stripe_api_key="sk_test_unused",
        stripe_webhook_secret="whsec_unused",
        **changes,
    )


async def verifier_of(settings: Settings) -> tuple[OidcTokenVerifier, Any]:
    container = make_container(settings)
    verifier = await container.get(TokenVerifier)  # type: ignore[type-abstract]
    assert isinstance(verifier, OidcTokenVerifier)
    return verifier, container


async def test_the_cache_settings_reach_the_verifier() -> None:
    async with fake_issuer() as issuer:
        settings = oidc_settings(
            issuer.issuer, Mode.EMBEDDED, oidc_cache_seconds=5.0, oidc_jwks_min_refetch_seconds=2.0
        )
        verifier, container = await verifier_of(settings)
        await container.close()

    assert verifier.config.introspection_cache_ttl_seconds == 5.0
    assert verifier.config.jwks_min_refetch_interval_seconds == 2.0


async def test_production_loads_discovery_and_keys_before_the_first_request() -> None:
    async with fake_issuer() as issuer:
        with capture_logs() as logs:
            verifier, container = await verifier_of(oidc_settings(issuer.issuer, Mode.PRODUCTION))
        fetched = verifier.jwks_fetch_attempts
        await container.close()

    assert fetched == 1
    assert issuer.requests == [
        f"{REALM}/.well-known/openid-configuration",
        f"{REALM}/protocol/openid-connect/certs",
    ]
    assert [e["log_level"] for e in logs if e["event"].startswith("OIDC issuer checked")] == [
        "info"
    ]


async def test_production_logs_a_wrong_issuer_at_start_up_and_still_starts() -> None:
    async with fake_issuer(claims_issuer="https://elsewhere.example.com/realms/x") as issuer:
        with capture_logs() as logs:
            _, container = await verifier_of(oidc_settings(issuer.issuer, Mode.PRODUCTION))
        await container.close()

    (failure,) = [e for e in logs if e["event"].startswith("OIDC issuer check failed")]
    assert failure["log_level"] == "error"
    assert failure["issuer"] == issuer.issuer
    assert "elsewhere.example.com" in failure["reason"]
    assert "ELTIKETI_OIDC_ISSUER" in failure["event"]


async def test_embedded_start_up_does_not_wait_for_the_issuer() -> None:
    async with fake_issuer(claims_issuer="https://elsewhere.example.com/realms/x", hold=True) as (
        issuer
    ):
        with capture_logs() as logs:
            verifier, container = await verifier_of(oidc_settings(issuer.issuer, Mode.EMBEDDED))
            # The verifier is handed out while the issuer has not answered anything yet.
            assert not issuer.release.is_set()
            assert verifier.jwks_fetch_attempts == 0
            assert not [e for e in logs if e["event"].startswith("OIDC issuer check")]
            issuer.release.set()
            for _ in range(200):
                if any(e["event"].startswith("OIDC issuer check failed") for e in logs):
                    break
                await asyncio.sleep(0.01)
            await container.close()

    (failure,) = [e for e in logs if e["event"].startswith("OIDC issuer check failed")]
    assert failure["log_level"] == "warning"


async def test_closing_an_embedded_app_during_the_check_stops_it_quietly() -> None:
    async with fake_issuer(hold=True) as issuer:
        with capture_logs() as logs:
            _, container = await verifier_of(oidc_settings(issuer.issuer, Mode.EMBEDDED))
            for _ in range(500):  # until the background check waits on the issuer
                if issuer.requests:
                    break
                await asyncio.sleep(0.01)
            await container.close()

    assert issuer.requests == [f"{REALM}/.well-known/openid-configuration"]
    assert not [e for e in logs if e["event"].startswith("OIDC issuer check")]
