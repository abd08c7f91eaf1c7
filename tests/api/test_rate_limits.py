"""Rate limits on hold, release, payment and resend: 429 ``rate_limited`` with
``Retry-After``, per account and per client address, and the client address taken
from ``X-Forwarded-For`` only behind a trusted proxy.

The test client always connects from ``testclient``; :class:`PeerFromHeader`
wraps the app so a test can say which TCP peer a request comes from.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from litestar.types import Receive, Send
from litestar.types import Scope as AsgiScope

from tests.api.conftest import Api, Headers, problem

PEER = "x-test-peer"


class PeerFromHeader:
    """Test plumbing: the ASGI ``client`` of a request is its ``X-Test-Peer`` header."""

    def __init__(self, app: Any) -> None:
        self._app = app

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        for name, value in scope.get("headers", []):
            if name == PEER.encode():
                scope["client"] = (value.decode(), 40000)
        await self._app(scope, receive, send)


@pytest.fixture
def limited(start_app: Callable[..., Any]) -> Callable[..., Any]:
    """``async with limited(**settings) as api``: an app whose peers tests choose."""

    import contextlib

    @contextlib.asynccontextmanager
    async def start(**changes: Any) -> AsyncIterator[Api]:
        async with start_app(**changes) as api:
            api.app.asgi_handler = PeerFromHeader(api.app.asgi_handler)
            yield api

    return start


def rate_limited(response: httpx.Response, bucket: str) -> int:
    """Assert a 429 ``rate_limited`` problem for ``bucket``; its ``Retry-After``."""
    body = problem(response, 429, "rate_limited")
    assert body["bucket"] == bucket
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert body["retry_after"] == retry_after
    return retry_after


async def _order(api: Api, who: Headers) -> dict[str, Any]:
    event_id, standing = await api.sale()
    return await api.buy(who, event_id, standing)


async def test_holding_is_limited_per_account(limited: Callable[..., Any]) -> None:
    async with limited(rate_limit_hold="2/minute") as api:
        event_id, standing = await api.sale()
        alice = api.customer("alice")
        for _ in range(2):
            assert (await api.hold(alice, event_id, standing)).status_code == 201

        rate_limited(await api.hold(alice, event_id, standing), "account")
        # Another account from the same address is not affected.
        assert (await api.hold(api.customer("bob"), event_id, standing)).status_code == 201


async def test_releasing_is_limited_per_account(limited: Callable[..., Any]) -> None:
    async with limited(rate_limit_release="2/minute") as api:
        event_id, standing = await api.sale()
        alice = api.customer("alice")
        booking = (await api.hold(alice, event_id, standing)).json()
        url = f"/v1/bookings/{booking['id']}"
        for _ in range(2):
            assert (await api.client.delete(url, headers=alice)).status_code == 200

        rate_limited(await api.client.delete(url, headers=alice), "account")


async def test_starting_payments_is_limited_per_account(limited: Callable[..., Any]) -> None:
    async with limited(rate_limit_payment="2/minute") as api:
        event_id, standing = await api.sale()
        alice = api.customer("alice")
        booking = (await api.hold(alice, event_id, standing)).json()
        url = f"/v1/bookings/{booking['id']}/payment"
        for _ in range(2):
            assert (await api.client.post(url, headers=alice)).status_code == 200

        rate_limited(await api.client.post(url, headers=alice), "account")


async def test_resending_is_limited_per_account(limited: Callable[..., Any]) -> None:
    async with limited(rate_limit_resend="2/minute", resend_interval_seconds=0) as api:
        alice = api.customer("alice")
        first, second = await _order(api, alice), await _order(api, alice)
        for order in (first, second):
            sent = await api.client.post(f"/v1/orders/{order['id']}/resend", headers=alice)
            assert sent.status_code == 200, sent.text

        # Across orders: the per-order interval alone would not stop this.
        rate_limited(
            await api.client.post(f"/v1/orders/{first['id']}/resend", headers=alice), "account"
        )


async def test_one_address_is_limited_across_accounts(limited: Callable[..., Any]) -> None:
    async with limited(rate_limit_per_address="3/minute") as api:
        event_id, standing = await api.sale()
        from_one = {PEER: "203.0.113.7"}
        for name in ("alice", "bob", "carol"):
            held = await api.hold({**api.customer(name), **from_one}, event_id, standing)
            assert held.status_code == 201

        rate_limited(
            await api.hold({**api.customer("dave"), **from_one}, event_id, standing), "address"
        )
        other = {**api.customer("dave"), PEER: "203.0.113.8"}
        assert (await api.hold(other, event_id, standing)).status_code == 201


async def test_an_account_over_its_limit_does_not_use_up_its_address(
    limited: Callable[..., Any],
) -> None:
    async with limited(rate_limit_hold="1/minute", rate_limit_per_address="3/minute") as api:
        event_id, standing = await api.sale()
        mallory = {**api.customer("mallory"), PEER: "203.0.113.7"}
        assert (await api.hold(mallory, event_id, standing)).status_code == 201
        for _ in range(5):
            rate_limited(await api.hold(mallory, event_id, standing), "account")

        for name in ("alice", "bob"):
            neighbour = {**api.customer(name), PEER: "203.0.113.7"}
            assert (await api.hold(neighbour, event_id, standing)).status_code == 201


async def test_forwarded_for_counts_only_behind_a_trusted_proxy(
    limited: Callable[..., Any],
) -> None:
    async with limited(rate_limit_per_address="1/minute", trusted_proxies=("10.0.0.0/8",)) as api:
        event_id, standing = await api.sale()

        def via(peer: str, forwarded: str, name: str) -> Headers:
            return {**api.customer(name), PEER: peer, "X-Forwarded-For": forwarded}

        # Behind our balancer: each buyer has a bucket of their own...
        assert (
            await api.hold(via("10.0.0.5", "203.0.113.7", "alice"), event_id, standing)
        ).status_code == 201
        assert (
            await api.hold(via("10.0.0.6", "203.0.113.8", "bob"), event_id, standing)
        ).status_code == 201
        # ...the client's own left-hand entries do not change it...
        rate_limited(
            await api.hold(
                via("10.0.0.5", "198.51.100.1, 203.0.113.7", "carol"), event_id, standing
            ),
            "address",
        )
        # ...and a peer that is not our proxy cannot pick a bucket with the header.
        stranger = "192.0.2.10"
        assert (
            await api.hold(via(stranger, "203.0.113.50", "dave"), event_id, standing)
        ).status_code == 201
        rate_limited(
            await api.hold(via(stranger, "203.0.113.51", "erin"), event_id, standing), "address"
        )


async def test_without_trusted_proxies_the_header_is_ignored(limited: Callable[..., Any]) -> None:
    async with limited(rate_limit_per_address="1/minute") as api:
        event_id, standing = await api.sale()
        first = {**api.customer("alice"), PEER: "10.0.0.5", "X-Forwarded-For": "203.0.113.7"}
        second = {**api.customer("bob"), PEER: "10.0.0.5", "X-Forwarded-For": "203.0.113.8"}
        assert (await api.hold(first, event_id, standing)).status_code == 201
        rate_limited(await api.hold(second, event_id, standing), "address")


async def test_refusals_are_counted_in_the_metrics(limited: Callable[..., Any]) -> None:
    async with limited(rate_limit_hold="1/minute") as api:
        event_id, standing = await api.sale()
        alice = api.customer("alice")
        await api.hold(alice, event_id, standing)
        rate_limited(await api.hold(alice, event_id, standing), "account")

        metrics = (await api.client.get("/metrics")).text
        assert 'eltiketi_rate_limited_total{action="hold",bucket="account"} 1.0' in metrics


async def test_limits_can_be_switched_off(limited: Callable[..., Any]) -> None:
    async with limited(
        rate_limit_enabled=False, rate_limit_hold="1/minute", rate_limit_per_address="1/minute"
    ) as api:
        event_id, standing = await api.sale()
        alice = api.customer("alice")
        for _ in range(5):
            assert (await api.hold(alice, event_id, standing, 1)).status_code == 201


async def test_the_defaults_let_a_normal_buyer_through(api: Api) -> None:
    alice = api.customer("alice")
    event_id, standing = await api.sale()
    for _ in range(3):
        booking = (await api.hold(alice, event_id, standing)).json()
        payment = await api.start_payment(alice, booking["id"])
        await api.start_payment(alice, booking["id"])
        await api.approve(payment)
        confirmed = await api.confirm(alice, booking["id"], payment["payment_id"])
        assert confirmed.status_code == 201, confirmed.text


async def test_a_hold_cool_down_answers_429_with_retry_after(api: Api) -> None:
    event_id, standing = await api.sale()
    mallory = api.customer("mallory")
    for _ in range(api.settings.rehold_limit):
        booking = (await api.hold(mallory, event_id, standing)).json()
        released = await api.client.delete(f"/v1/bookings/{booking['id']}", headers=mallory)
        assert released.status_code == 200

    refused = await api.hold(mallory, event_id, standing)
    body = problem(refused, 429, "hold_cooldown")
    cooldown = int(api.settings.rehold_cooldown_seconds)
    assert cooldown - 5 <= int(refused.headers["retry-after"]) <= cooldown
    assert body["until"]
