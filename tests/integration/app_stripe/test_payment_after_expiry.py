"""The money arrives after the hold ended (alf.io #1421, pretix #74): stock again, or a refund.

Holds last 3 s here (``ELTIKETI_HOLD_TTL_SECONDS``). The buyer pays at Stripe within the hold,
but the app hears of it only after expiry: no webhook is registered for the app, and the buyer
confirms late. Meanwhile the app's own expiry handler asks Stripe to cancel the intent, learns
it already succeeded, and runs the same payment-after-expiry path, so either may come first.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.app_stripe.conftest import LiveAppFactory, eventually, problem

pytestmark = pytest.mark.stripe

HOLD_SECONDS = "3"
"""Long enough to pay at localstripe within the hold on a loaded machine."""


async def sleep_past(booking: dict[str, Any], extra: float = 0.3) -> None:
    expires_at = datetime.fromisoformat(booking["expires_at"])
    await asyncio.sleep(max((expires_at - datetime.now(UTC)).total_seconds(), 0) + extra)


async def test_paid_after_expiry_with_stock_left_is_confirmed(
    start_live_app: LiveAppFactory,
) -> None:
    async with start_live_app(hold_ttl_seconds=HOLD_SECONDS, sweep_interval_seconds="0.2") as live:
        olga, alice = live.auth("olga", "organizer"), live.auth("alice")
        event_id, standing = await live.sale(olga, capacity=5)
        booking = await live.hold(alice, event_id, standing)
        payment = await live.start_payment(alice, booking["id"])
        await live.buyer.pay(payment["provider_reference"])  # within the hold

        await sleep_past(booking)
        # the sweeper ends the hold; the expiry handler finds the intent paid and re-acquires
        ended = await eventually(
            lambda: live.booking(alice, booking["id"]),
            lambda found: found["status"] != "held",
            what="the hold ended by the sweeper",
        )
        assert ended["status"] in ("expired", "confirmed")
        confirmed = await live.confirm(alice, booking["id"], payment["payment_id"])

        assert confirmed.status_code in (200, 201), confirmed.text
        order = confirmed.json()
        assert order["status"] == "confirmed"
        assert datetime.fromisoformat(order["created_at"]) > datetime.fromisoformat(
            booking["expires_at"]
        )
        assert len(order["tickets"]) == 1
        levels = await eventually(
            lambda: live.stock(olga, event_id),
            lambda found: found[standing]["sold"] == 1,
            what="the re-acquired ticket sold",
        )
        assert (levels[standing]["held"], levels[standing]["available"]) == (0, 4)
        assert await live.refunds_of(payment["provider_reference"]) == []
        await eventually(
            lambda: live.mails_to("tickets", "alice@example.com"),
            lambda found: len(found) == 1,
            what="the e-tickets",
        )
        assert await live.mails("refund") == []


async def test_paid_after_expiry_with_the_stock_gone_is_refunded(
    start_live_app: LiveAppFactory,
) -> None:
    # the sweeper stays out of the way: bob's reservation itself releases alice's expired hold
    async with start_live_app(hold_ttl_seconds=HOLD_SECONDS, sweep_interval_seconds="60") as live:
        olga, alice, bob = live.auth("olga", "organizer"), live.auth("alice"), live.auth("bob")
        event_id, standing = await live.sale(olga, capacity=1, amount=4500)
        booking = await live.hold(alice, event_id, standing)
        payment = await live.start_payment(alice, booking["id"])
        intent_id = payment["provider_reference"]
        await live.buyer.pay(intent_id)  # within the hold

        await sleep_past(booking)
        bobs = await live.hold(bob, event_id, standing)  # the last ticket is bob's now
        late = await live.confirm(alice, booking["id"], payment["payment_id"])

        problem(late, 409, "hold_lost_refunded")
        refunds = await eventually(
            lambda: live.refunds_of(intent_id), lambda found: len(found) >= 1, what="the refund"
        )
        assert [(r["amount"], r["currency"], r["status"]) for r in refunds] == [
            (4500, "eur", "succeeded")
        ]
        notices = await eventually(
            lambda: live.mails_to("refund", "alice@example.com"),
            lambda found: len(found) >= 1,
            what="alice's refund notice",
        )
        assert len(notices) == 1
        assert await live.orders(alice) == []
        # asking again does not refund twice (localstripe ignores idempotency keys, so a
        # second refund call would show up as a second refund)
        problem(
            await live.confirm(alice, booking["id"], payment["payment_id"]),
            409,
            "hold_lost_refunded",
        )
        await asyncio.sleep(1.0)
        assert len(await live.refunds_of(intent_id)) == 1
        assert len(await live.mails_to("refund", "alice@example.com")) == 1
        # bob keeps his hold; the counters never went past the capacity
        assert (await live.booking(bob, bobs["id"]))["status"] == "held"
        level = (await live.stock(olga, event_id))[standing]
        assert (level["held"], level["sold"], level["available"]) == (1, 0, 0)
        assert (await live.booking(alice, booking["id"]))["status"] != "confirmed"
