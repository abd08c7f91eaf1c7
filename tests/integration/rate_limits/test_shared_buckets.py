"""Two API replicas, one Redis: an account's (and an address's) requests are counted in
one bucket whichever replica answers them."""

from __future__ import annotations

from pathlib import Path

import pytest

from eltiketi_adapters.system import SystemClock
from tests.api.conftest import Api, ClockProvider, embedded_settings, problem, running_app
from tests.infra.redis import RedisSpace

pytestmark = pytest.mark.redis


async def _sale(api: Api) -> tuple[str, str]:
    return await api.sale(capacity=100)


async def test_two_replicas_share_one_bucket_per_account(redis: RedisSpace, tmp_path: Path) -> None:
    # One data folder: both replicas accept the same dev tokens (one key, as in production).
    settings = embedded_settings(
        tmp_path,
        rate_limit_redis_url=redis.url,
        rate_limit_key_prefix=redis.prefix,
        rate_limit_hold="3/minute",
        rate_limit_per_address="5/minute",
    )
    clock = [ClockProvider(SystemClock())]
    async with running_app(settings, clock) as one, running_app(settings, clock) as two:
        on_one, on_two = await _sale(one), await _sale(two)
        alice = one.customer("alice")

        assert (await one.hold(alice, *on_one)).status_code == 201
        assert (await two.hold(alice, *on_two)).status_code == 201
        assert (await one.hold(alice, *on_one)).status_code == 201
        refused = await two.hold(alice, *on_two)
        body = problem(refused, 429, "rate_limited")
        assert body["bucket"] == "account"
        assert int(refused.headers["retry-after"]) >= 1
        assert (await one.hold(alice, *on_one)).status_code == 429

        # The address bucket is shared too (every test request comes from "testclient"):
        # alice's three holds counted there, her refused ones did not; bob and carol take
        # the last two places, on either replica, and the next is refused on the other.
        bob, carol = one.customer("bob"), one.customer("carol")
        assert (await two.hold(bob, *on_two)).status_code == 201
        assert (await one.hold(carol, *on_one)).status_code == 201
        body = problem(await two.hold(carol, *on_two), 429, "rate_limited")
        assert body["bucket"] == "address"

    keys = await redis.keys()
    assert keys, "the buckets live in Redis"
    assert all(key.startswith(redis.prefix) for key in keys)
