"""Checking the OIDC issuer at start-up, so a wrong ``ELTIKETI_OIDC_ISSUER`` shows at once.

The verifier would otherwise load the discovery document and the JWKS on the first
request that carries a token, and a typo in the issuer (or a discovery document for
another issuer) would first show as 503s on real traffic.

* **Production**: start-up waits for the check (bounded by :data:`PREFETCH_TIMEOUT_SECONDS`).
  A failure is logged as one ERROR line naming the issuer and the reason, and the
  service still starts: an identity provider that is briefly away must not stop API
  replicas from starting, and public routes (events, health) do not need it. Requests
  with tokens answer 503 until the issuer answers.
* **Embedded** (an issuer configured for development): the check runs in the
  background and a failure is a WARNING, so start-up is neither slower nor refused.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Protocol

import structlog

from eltiketi_app.settings import Settings
from eltiketi_core.errors import GatewayUnavailable

PREFETCH_TIMEOUT_SECONDS = 10.0
"""Upper bound of the production start-up check (discovery + JWKS, two requests)."""


class Prefetching(Protocol):
    """What the check needs from the verifier (``OidcTokenVerifier.prefetch``)."""

    async def prefetch(self) -> None: ...


@contextlib.asynccontextmanager
async def prefetched(verifier: Prefetching, settings: Settings) -> AsyncIterator[None]:
    """Check the issuer now (production) or in the background (embedded) while in use."""
    if not settings.is_embedded:
        await check_issuer(verifier, settings)
        yield
        return
    task = asyncio.create_task(check_issuer(verifier, settings), name="oidc-prefetch")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def check_issuer(verifier: Prefetching, settings: Settings) -> bool:
    """Load discovery and JWKS; log the outcome; return whether the issuer answered."""
    log = structlog.get_logger("eltiketi.identity")  # bound now: start-up runs this once
    try:
        async with asyncio.timeout(PREFETCH_TIMEOUT_SECONDS):
            await verifier.prefetch()
    except (GatewayUnavailable, TimeoutError) as exc:
        reason = exc.detail if isinstance(exc, GatewayUnavailable) else "no answer in time"
        report = log.warning if settings.is_embedded else log.error
        report(
            "OIDC issuer check failed at start-up: tokens will be refused with 503 until "
            "it answers; check ELTIKETI_OIDC_ISSUER",
            issuer=settings.oidc_issuer,
            reason=reason,
        )
        return False
    log.info("OIDC issuer checked: discovery and signing keys loaded", issuer=settings.oidc_issuer)
    return True
