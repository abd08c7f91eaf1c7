"""A booking's second payment against localstripe: the first one is retired, or settled, or —
if both succeed — one is kept and the other refunded once (issue 13).

Stripe lets a buyer pay a PaymentIntent whose card was declined later (it stays
``requires_payment_method``). So opening a new payment first cancels the declined one at Stripe;
if the buyer managed to pay it meanwhile, that payment is settled instead of opening another.
Bookings made before the upgrade may still have two payable payments: the race test makes that
state as the old code did (a second PaymentIntent next to the declined one, on the app's
PostgreSQL database) and races both successes through the webhook and ``POST /v1/orders``.

localstripe cannot charge an intent again after a declined charge (the failed charge keeps it
``requires_payment_method`` and ``confirm`` answers 400), so "declined" is played by the
signed ``payment_intent.payment_failed`` notice Stripe sends for a declined attempt, posted to
the app by the test (:func:`declined_payment`); the intent itself stays payable, as a declined
Stripe intent is.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import pytest
import stripe

from eltiketi_adapters.memory import TimeOrderedIds
from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from eltiketi_adapters.stripe import StripeConfig, StripePaymentGateway
from eltiketi_adapters.system import SystemClock
from tests.integration.app_stripe.conftest import (
    LiveApp,
    LiveAppFactory,
    eventually,
    problem,
    stripe_signature,
)
from tests.integration.sqlalchemy.database import fresh_postgres_database
from tests.unit.usecases.legacy_payments import open_second_payment

pytestmark = pytest.mark.stripe

PRICE = 4500


async def declined_payment(live: LiveApp, who: dict[str, str], booking_id: str) -> dict[str, Any]:
    """A payment whose card Stripe declined: the app got the signed ``payment_failed`` notice
    and marked it failed; at Stripe it can still be paid."""
    payment = await live.start_payment(who, booking_id)
    event = {
        "id": f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "type": "payment_intent.payment_failed",
        "data": {
            "object": {
                "id": payment["provider_reference"],
                "object": "payment_intent",
                "status": "requires_payment_method",
                "last_payment_error": {"code": "card_declined", "message": "declined"},
            }
        },
    }
    body = json.dumps(event).encode()
    answer = await live.post_webhook(body, stripe_signature(body, live.webhook_secret))
    assert answer.status_code == 200, answer.text
    return payment


async def test_a_second_payment_cancels_the_declined_intent_at_stripe(live: LiveApp) -> None:
    olga, alice = live.auth("olga", "organizer"), live.auth("alice")
    event_id, standing = await live.sale(olga)
    booking = await live.hold(alice, event_id, standing)
    first = await declined_payment(live, alice, booking["id"])

    second = await live.start_payment(alice, booking["id"])

    assert second["payment_id"] != first["payment_id"]
    assert (await live.intent(first["provider_reference"]))["status"] == "canceled"
    with pytest.raises(stripe.StripeError):  # the buyer can no longer pay the first one
        await live.buyer.pay(first["provider_reference"])
    await live.buyer.pay(second["provider_reference"])
    confirmed = await live.confirm(alice, booking["id"], second["payment_id"])
    assert confirmed.status_code == 201, confirmed.text
    assert (await live.intent(first["provider_reference"]))["status"] == "canceled"


async def test_a_declined_intent_paid_after_all_is_settled_instead_of_a_second(
    live: LiveApp,
) -> None:
    olga, alice = live.auth("olga", "organizer"), live.auth("alice")
    event_id, standing = await live.sale(olga)
    booking = await live.hold(alice, event_id, standing, quantity=2)
    first = await declined_payment(live, alice, booking["id"])
    await live.buyer.pay(first["provider_reference"])  # another card, no webhook registered

    answer = await live.start_payment(alice, booking["id"])

    assert (answer["payment_id"], answer["status"]) == (first["payment_id"], "succeeded")
    confirmed = await live.confirm(alice, booking["id"], first["payment_id"])
    assert confirmed.status_code == 200, confirmed.text  # settled by the start already
    assert [o["id"] for o in await live.orders(alice)] == [confirmed.json()["id"]]
    assert await live.refunds_of(first["provider_reference"]) == []


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A new PostgreSQL database; the embedded app migrates it on start."""
    async with fresh_postgres_database("app_stripe_second", migrate=False) as url:
        yield url


@pytest.mark.postgres
async def test_two_intents_succeeding_for_one_booking_keep_one_and_refund_one(
    start_live_app: LiveAppFactory, pg_url: str
) -> None:
    async with start_live_app(database_url=pg_url) as live:
        olga, alice = live.auth("olga", "organizer"), live.auth("alice")
        event_id, standing = await live.sale(olga, amount=PRICE)
        booking = await live.hold(alice, event_id, standing)
        first = await declined_payment(live, alice, booking["id"])
        second = await second_intent_as_before(live, pg_url, booking["id"])
        live.deliver_webhooks_here()

        # Both cards go through at once; the buyer confirms both; the webhooks race along.
        await asyncio.gather(
            live.buyer.pay(first["provider_reference"]),
            live.buyer.pay(second["provider_reference"]),
        )
        payments = {"first": first, "second": second}
        answers = await asyncio.gather(
            *(live.confirm(alice, booking["id"], p["payment_id"]) for p in payments.values())
        )
        confirmations = dict(zip(payments, answers, strict=True))

        orders = await live.orders(alice)
        assert len(orders) == 1, orders
        order = orders[0]
        [kept] = [n for n, p in payments.items() if p["payment_id"] == order["payment_id"]]
        [other] = [n for n in payments if n != kept]
        assert confirmations[kept].status_code in (200, 201), confirmations[kept].text
        assert confirmations[kept].json()["id"] == order["id"]
        refused = problem(confirmations[other], 409, "duplicate_payment_refunded")
        assert refused["order_id"] == order["id"]

        intent = {n: p["provider_reference"] for n, p in payments.items()}
        refunds = await eventually(
            lambda: live.refunds_of(intent[other]),
            lambda found: len(found) >= 1,
            what="the duplicate's refund",
        )
        await asyncio.sleep(1.5)  # every webhook delivered: still one refund, of the other
        refunds = await live.refunds_of(intent[other])
        assert [(r["amount"], r["status"]) for r in refunds] == [(PRICE, "succeeded")]
        assert await live.refunds_of(intent[kept]) == []
        received = [(await live.intent(ref))["amount"] for ref in intent.values()]
        assert sum(received) == order["total"]["amount"] + sum(r["amount"] for r in refunds)
        await eventually(
            lambda: live.mails_to("refund", "alice@example.com"),
            lambda found: len(found) == 1,
            what="the refund notice",
        )
        level = (await live.stock(olga, event_id))[standing]
        assert (level["held"], level["sold"]) == (0, 1)


async def second_intent_as_before(live: LiveApp, pg_url: str, booking_id: str) -> dict[str, Any]:
    """A second PaymentIntent next to the declined one, as versions before issue 13 opened it
    (the app's own gateway settings, its database)."""
    gateway = StripePaymentGateway(
        StripeConfig(
            api_key=live.stripe_server.api_key,
            webhook_secret=live.webhook_secret,
            api_base=live.stripe_server.api_base,
        )
    )
    async with gateway, SqlAlchemyPersistence(pg_url, pool_size=1, max_overflow=0) as db:
        async with db.unit_of_work() as uow:
            booking = await uow.bookings.get(UUID(booking_id))
        assert booking is not None
        payment = await open_second_payment(
            db.uow_factory(), gateway, TimeOrderedIds(), SystemClock(), booking
        )
    return {"payment_id": str(payment.id), "provider_reference": payment.provider_reference}
