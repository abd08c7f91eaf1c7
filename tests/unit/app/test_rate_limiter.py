"""The limiter itself, on the ``limits`` in-memory storage (embedded mode)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from limits import parse_many
from limits.aio.storage import MemoryStorage, RedisStorage

from eltiketi_app.http.client_address import TrustedProxies
from eltiketi_app.http.rate_limits import Action, RateLimiter, RateLimits
from eltiketi_app.metrics import Metrics
from eltiketi_app.settings import Settings
from eltiketi_core.errors import RateLimited
from tests.infra.ports import free_port


def limiter(
    account: str = "3/minute", address: str = "off", *, metrics: Metrics | None = None
) -> RateLimiter:
    settings = Settings(
        rate_limit_hold=account, rate_limit_per_address=address, rate_limit_resend=account
    )
    return RateLimiter(
        MemoryStorage(), RateLimits.from_settings(settings), TrustedProxies(), metrics
    )


async def outcome(limited: RateLimiter, action: Action, account: str, address: str) -> str:
    try:
        await limited.check(action, account=account, address=address)
    except RateLimited as refused:
        return str(refused.extra["bucket"])
    return "ok"


async def test_concurrent_requests_cannot_all_take_the_last_place() -> None:
    limited = limiter("10/minute")
    results = await asyncio.gather(
        *(outcome(limited, Action.HOLD, "mallory", "203.0.113.7") for _ in range(50))
    )
    assert Counter(results) == {"ok": 10, "account": 40}


async def test_each_action_and_account_has_its_own_bucket() -> None:
    limited = limiter("1/minute")
    assert await outcome(limited, Action.HOLD, "alice", "a") == "ok"
    assert await outcome(limited, Action.HOLD, "alice", "a") == "account"
    assert await outcome(limited, Action.RESEND, "alice", "a") == "ok"
    assert await outcome(limited, Action.HOLD, "bob", "a") == "ok"
    # An action without a configured limit is not limited.
    assert await outcome(limited, Action.PAYMENT, "alice", "a") == "ok"


async def test_every_window_of_a_multi_limit_counts() -> None:
    limited = limiter("5/minute;2/hour")
    assert [await outcome(limited, Action.HOLD, "alice", "a") for _ in range(3)] == [
        "ok",
        "ok",
        "account",
    ]


async def test_the_refusal_says_when_to_come_back() -> None:
    metrics = Metrics()
    limited = limiter("1/minute", metrics=metrics)
    await limited.check(Action.HOLD, account="alice", address="a")
    with pytest.raises(RateLimited) as refused:
        await limited.check(Action.HOLD, account="alice", address="a")
    assert refused.value.code == "rate_limited"
    assert 1 <= refused.value.extra["retry_after"] <= 60
    assert refused.value.extra["limit"] == str(parse_many("1/minute")[0])
    assert metrics.rate_limited.labels(action="hold", bucket="account")._value.get() == 1


async def test_the_address_bucket_is_shared_by_accounts() -> None:
    limited = limiter("100/minute", "2/minute")
    assert [
        await outcome(limited, Action.HOLD, name, "203.0.113.7")
        for name in ("alice", "bob", "carol")
    ] == ["ok", "ok", "address"]
    assert await outcome(limited, Action.HOLD, "carol", "203.0.113.8") == "ok"


async def test_disabled_limits_never_refuse() -> None:
    settings = Settings(rate_limit_enabled=False, rate_limit_hold="1/hour")
    limits = RateLimits.from_settings(settings)
    assert limits == RateLimits()
    limited = RateLimiter(MemoryStorage(), limits, TrustedProxies())
    for _ in range(5):
        await limited.check(Action.HOLD, account="alice", address="a")


async def test_an_unreachable_storage_lets_requests_through_and_is_counted() -> None:
    """Losing the limits for a while is better than losing the sale."""
    url = f"async+redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    storage = RedisStorage(
        url, wrap_exceptions=True, implementation="redispy", socket_connect_timeout=0.5
    )
    metrics = Metrics()
    limited = RateLimiter(
        storage,
        RateLimits.from_settings(Settings(rate_limit_hold="1/minute")),
        TrustedProxies(),
        metrics,
    )
    for _ in range(3):
        await limited.check(Action.HOLD, account="alice", address="a")
    assert metrics.rate_limit_errors._value.get() == 3
