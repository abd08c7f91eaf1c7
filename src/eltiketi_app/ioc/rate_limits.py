"""The rate limiter: its counters on Redis (shared by replicas) or in this process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import structlog
from dishka import Provider, Scope, provide

from eltiketi_app.http.client_address import TrustedProxies
from eltiketi_app.http.rate_limits import RateLimiter, RateLimits
from eltiketi_app.metrics import Metrics
from eltiketi_app.settings import Settings

#: Redis must answer within this; a slow Redis lets requests through rather than stall them.
REDIS_TIMEOUT_SECONDS = 0.5

log = structlog.get_logger("eltiketi.ratelimit")


class RateLimitProvider(Provider):
    scope = Scope.APP

    @provide
    async def limiter(self, settings: Settings, metrics: Metrics) -> AsyncIterator[RateLimiter]:
        limits = RateLimits.from_settings(settings)
        proxies = TrustedProxies(settings.trusted_proxies)
        if settings.rate_limit_redis_url is None or not settings.rate_limit_enabled:
            from limits.aio.storage import MemoryStorage

            yield RateLimiter(MemoryStorage(), limits, proxies, metrics)
            return
        from limits.aio.storage import RedisStorage
        from redis.asyncio import ConnectionPool

        pool = ConnectionPool.from_url(
            settings.rate_limit_redis_url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        storage = RedisStorage(
            "async+" + settings.rate_limit_redis_url,
            wrap_exceptions=True,
            implementation="redispy",
            key_prefix=settings.rate_limit_key_prefix,
            connection_pool=pool,  # type: ignore[arg-type]  # documented; typed too narrowly
        )
        try:
            if not await storage.check():
                log.warning(
                    "ELTIKETI_RATE_LIMIT_REDIS_URL does not answer: rate limits are off until it does"
                )
            yield RateLimiter(storage, limits, proxies, metrics)
        finally:
            await pool.disconnect()
