"""Rate limits on the routes a script could flood: hold, release, pay, resend.

Each route has two buckets per request: one for the account (the token's
subject) and one for the client address (see :mod:`eltiketi_app.http.client_address`).
Counting is the ``limits`` library's sliding-window counter, on Redis when
``ELTIKETI_RATE_LIMIT_REDIS_URL`` is set (every API replica counts in the same buckets)
and in this process's memory otherwise (embedded mode). A hit is one atomic
increment-and-compare in the storage, so concurrent requests cannot all read
"one left" and pass.

A refusal is ``429 rate_limited`` with ``Retry-After``. When the storage is
unreachable the request goes through (and a warning is logged): losing the
limits for a while is better than losing the sale.

The routes carry the :func:`rate_limited` guard; it runs after the
authentication guard and before the body is read.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import structlog
from dishka import FromDishka
from limits import RateLimitItem, parse_many
from limits.aio.storage import Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from eltiketi_app.http.auth import injected_guard
from eltiketi_app.http.client_address import TrustedProxies
from eltiketi_app.http.openapi import answers_with
from eltiketi_app.metrics import Metrics
from eltiketi_app.settings import RATE_LIMIT_OFF, Settings
from eltiketi_core.domain.identity import Principal
from eltiketi_core.errors import RateLimited

log = structlog.get_logger("eltiketi.ratelimit")

#: At most one "storage unreachable" warning per this many seconds.
STORAGE_WARNING_INTERVAL_SECONDS = 30.0


class Action(StrEnum):
    """The limited routes; each has buckets of its own."""

    HOLD = "hold"  # POST /v1/bookings
    RELEASE = "release"  # DELETE /v1/bookings/{id}
    PAYMENT = "payment"  # POST /v1/bookings/{id}/payment
    RESEND = "resend"  # POST /v1/orders/{id}/resend


def _items(rate: str) -> tuple[RateLimitItem, ...]:
    return () if rate == RATE_LIMIT_OFF else tuple(parse_many(rate))


@dataclass(frozen=True, slots=True)
class RateLimits:
    """What is allowed: per account and action, and per client address and action."""

    per_account: Mapping[Action, tuple[RateLimitItem, ...]] = field(default_factory=dict)
    per_address: tuple[RateLimitItem, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        if not settings.rate_limit_enabled:
            return cls()
        return cls(
            per_account={
                Action.HOLD: _items(settings.rate_limit_hold),
                Action.RELEASE: _items(settings.rate_limit_release),
                Action.PAYMENT: _items(settings.rate_limit_payment),
                Action.RESEND: _items(settings.rate_limit_resend),
            },
            per_address=_items(settings.rate_limit_per_address),
        )


class RateLimiter:
    """Counts requests in a ``limits`` storage and refuses those over a limit."""

    def __init__(
        self,
        storage: Storage,
        limits: RateLimits,
        proxies: TrustedProxies,
        metrics: Metrics | None = None,
    ) -> None:
        self._strategy = SlidingWindowCounterRateLimiter(storage)
        self._limits = limits
        self.proxies = proxies
        self._metrics = metrics
        self._last_warning = -math.inf

    async def check(self, action: Action, *, account: str, address: str) -> None:
        """Count this request; raise :class:`~eltiketi_core.errors.RateLimited` if a
        bucket is full. The account's buckets are tried first, so an account over
        its limit does not use up its address's (shared, behind NAT) allowance."""
        buckets: Sequence[tuple[str, str, tuple[RateLimitItem, ...]]] = (
            ("account", account, self._limits.per_account.get(action, ())),
            ("address", address, self._limits.per_address),
        )
        for bucket, key, items in buckets:
            for item in items:
                try:
                    allowed = await self._strategy.hit(item, action.value, bucket, key)
                    if allowed:
                        continue
                    retry_after = await self._retry_after(item, action.value, bucket, key)
                except StorageError as error:
                    self._storage_failed(error)
                    return
                if self._metrics is not None:
                    self._metrics.rate_limited.labels(action=action.value, bucket=bucket).inc()
                raise RateLimited(
                    "rate_limited",
                    f"too many {action.value} requests from this {bucket}; "
                    f"try again in {retry_after} seconds",
                    retry_after=retry_after,
                    bucket=bucket,
                    limit=str(item),
                )

    async def _retry_after(self, item: RateLimitItem, *identifiers: str) -> int:
        stats = await self._strategy.get_window_stats(item, *identifiers)
        return max(1, math.ceil(stats.reset_time - time.time()))

    def _storage_failed(self, error: StorageError) -> None:
        if self._metrics is not None:
            self._metrics.rate_limit_errors.inc()
        now = time.monotonic()
        if now - self._last_warning >= STORAGE_WARNING_INTERVAL_SECONDS:
            self._last_warning = now
            log.warning(
                "rate limit storage unreachable: requests pass unlimited until it answers",
                error=repr(error.storage_error),
            )


def rate_limited(action: Action) -> Guard:
    """Guard: count the request in ``action``'s buckets; 429 when one is full.

    Put it on a route that also has the authentication guard (on its router):
    the account comes from the verified token.
    """

    @injected_guard
    async def guard(
        connection: ASGIConnection[Any, Any, Any, Any],
        handler: BaseRouteHandler,
        limiter: FromDishka[RateLimiter],
        principal: FromDishka[Principal],
    ) -> None:
        peer = connection.client.host if connection.client else None
        forwarded = ",".join(connection.headers.getall("x-forwarded-for", ())) or None
        address = limiter.proxies.client_address(peer, forwarded)
        await limiter.check(action, account=principal.subject, address=address)

    guard.__name__ = f"rate_limited_{action.value}"
    return answers_with("rate_limited")(guard)
