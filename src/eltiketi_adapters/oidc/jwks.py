"""The issuer's signing keys: cached, refetched on an unknown ``kid``, never hammered.

Rules (documented in ``docs/keycloak.md``):

* A token whose ``kid`` is not cached triggers a refetch only if the last fetch attempt is at
  least ``min_refetch_interval`` seconds old. Otherwise it is refused (``unknown_key``) at once.
  So a flood of forged kids costs the issuer at most one request per interval, and concurrent
  misses wait for the one fetch in flight (a lock) instead of starting their own.
* Known keys older than ``max_age`` are re-fetched (same rate limit); while that happens, or if
  it fails, the cached key keeps serving, so an issuer outage does not lock out valid tokens.
  A key the issuer withdrew stops validating after the next successful fetch.
* A failed fetch raises ``GatewayUnavailable`` (503). It may be retried after
  ``min(min_refetch_interval, FAILURE_RETRY_SECONDS)``; meanwhile tokens with unknown kids get
  the same 503, since their key may simply be in the list we could not read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from joserfc.jwk import Key

from eltiketi_adapters.oidc.errors import UNKNOWN_KEY, issuer_unavailable, refused
from eltiketi_adapters.oidc.jwt_validation import import_signing_keys
from eltiketi_core.errors import GatewayUnavailable

logger = logging.getLogger("eltiketi.keycloak")

FAILURE_RETRY_SECONDS = 5.0

JwksFetcher = Callable[[], Awaitable[Mapping[str, Any]]]


class JwksCache:
    """A :class:`~eltiketi_adapters.oidc.jwt_validation.KeyResolver` backed by a JWKS URL.

    Args:
        fetch: Returns the issuer's current JWK set (raises ``GatewayUnavailable`` on failure).
        min_refetch_interval: Seconds between two fetch attempts, at least.
        max_age: Seconds after which known keys are refreshed.
        monotonic: Time source for the intervals (injectable for tests).
    """

    def __init__(
        self,
        fetch: JwksFetcher,
        *,
        min_refetch_interval: float = 30.0,
        max_age: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._min_interval = min_refetch_interval
        self._max_age = max_age
        self._monotonic = monotonic
        self._keys: dict[str, Key] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._last_attempt_failed = False
        self._lock = asyncio.Lock()
        self.fetch_attempts = 0
        """How many times the JWKS was requested (for metrics and tests)."""

    @property
    def kids(self) -> frozenset[str]:
        """The key ids currently cached."""
        return frozenset(self._keys)

    async def key_for(self, kid: str) -> Key:
        known = self._keys.get(kid)
        if known is not None and (not self._is_stale() or self._lock.locked()):
            return known
        async with self._lock:
            known = self._keys.get(kid)
            if known is not None:
                return await self._refresh_stale(kid, known)
            if not self._may_fetch():
                if self._last_attempt_failed:
                    raise issuer_unavailable("JWKS: the last fetch failed; retrying shortly")
                raise refused(UNKNOWN_KEY, "no key with this kid (JWKS refetch rate-limited)")
            await self._refresh()
            key = self._keys.get(kid)
            if key is None:
                raise refused(UNKNOWN_KEY, "no key with this kid in the issuer's JWKS")
            return key

    async def refresh(self) -> None:
        """Fetch the key set now (start-up warm-up); rate limit not applied."""
        async with self._lock:
            await self._refresh()

    async def _refresh_stale(self, kid: str, known: Key) -> Key:
        if not self._is_stale() or not self._may_fetch():
            return known
        try:
            await self._refresh()
        except GatewayUnavailable:
            return known  # logged in _refresh; a cached key beats a 503
        key = self._keys.get(kid)
        if key is None:
            raise refused(UNKNOWN_KEY, "the issuer no longer publishes this key")
        return key

    def _is_stale(self) -> bool:
        return self._fetched_at is None or self._monotonic() - self._fetched_at >= self._max_age

    def _may_fetch(self) -> bool:
        if self._attempted_at is None:
            return True
        wait = (
            min(self._min_interval, FAILURE_RETRY_SECONDS)
            if self._last_attempt_failed
            else self._min_interval
        )
        return self._monotonic() - self._attempted_at >= wait

    async def _refresh(self) -> None:
        self._attempted_at = self._monotonic()
        self.fetch_attempts += 1
        try:
            document = await self._fetch()
            keys = import_signing_keys(document)
        except GatewayUnavailable:
            self._last_attempt_failed = True
            raise
        except ValueError as exc:
            self._last_attempt_failed = True
            logger.warning("JWKS unusable", extra={"error": str(exc)})
            raise issuer_unavailable(f"JWKS: {exc}") from exc
        self._keys = keys
        self._fetched_at = self._monotonic()
        self._last_attempt_failed = False
        logger.info("JWKS fetched", extra={"kids": sorted(keys)})
