"""The Stripe webhook endpoint: one order whatever the timing, nothing from unsigned bodies.

Deliveries are real: localstripe signs them with the app's secret and posts them. A second
endpoint of the test's own (``capturing_webhooks``) receives the same signed bodies, so a
test can replay one exactly (duplicates) or alter it (forgeries).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from tests.integration.app_stripe.conftest import (
    LiveApp,
    LiveAppFactory,
    capturing_webhooks,
    eventually,
    problem,
    stripe_signature,
)
from tests.integration.sqlalchemy.database import fresh_postgres_database

pytestmark = pytest.mark.stripe


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A new PostgreSQL database; the embedded app migrates it on start."""
    async with fresh_postgres_database("app_stripe", migrate=False) as url:
        yield url


@pytest.mark.postgres
async def test_webhooks_and_confirmations_at_the_same_moment_make_one_order(
    start_live_app: LiveAppFactory, pg_url: str
) -> None:
    """PostgreSQL, so the racing transactions really overlap."""
    async with start_live_app(database_url=pg_url) as live:
        olga, alice = live.auth("olga", "organizer"), live.auth("alice")
        event_id, standing = await live.sale(olga, capacity=5)
        booking = await live.hold(alice, event_id, standing, quantity=2)
        payment = await live.start_payment(alice, booking["id"])
        intent_id = payment["provider_reference"]

        # the capture endpoint is registered first, so localstripe posts to the app right after
        async with capturing_webhooks(live.stripe_server, live.webhook_secret) as capture:
            live.deliver_webhooks_here()
            await live.buyer.pay(intent_id)
            delivery = await capture.event_for("payment_intent.succeeded", intent_id)
            signature = delivery.headers["Stripe-Signature"]
            # while localstripe's own delivery reaches the app: 4 replays, 4 confirmations
            answers = await asyncio.gather(
                *(live.post_webhook(delivery.body, signature) for _ in range(4)),
                *(live.confirm(alice, booking["id"], payment["payment_id"]) for _ in range(4)),
            )
        webhooks, confirmations = answers[:4], answers[4:]
        assert [w.status_code for w in webhooks] == [200] * 4, [w.text for w in webhooks]
        assert all(c.status_code in (200, 201) for c in confirmations), [
            c.text for c in confirmations
        ]
        assert sum(c.status_code == 201 for c in confirmations) <= 1
        assert len({c.json()["id"] for c in confirmations}) == 1

        orders = await live.orders(alice)
        assert [o["id"] for o in orders] == [confirmations[0].json()["id"]]
        assert len(orders[0]["tickets"]) == 2

        # later duplicates of the same delivery change nothing either
        for _ in range(2):
            again = await live.post_webhook(delivery.body, signature)
            assert again.status_code == 200, again.text
        levels = await eventually(
            lambda: live.stock(olga, event_id),
            lambda found: found[standing]["held"] == 0,
            what="held -> sold",
        )
        assert (levels[standing]["sold"], levels[standing]["available"]) == (2, 3)
        await asyncio.sleep(1.0)  # let any stray second effect happen before counting
        assert len(await live.orders(alice)) == 1
        assert len(await live.mails_to("tickets", "alice@example.com")) == 1
        assert (await live.stock(olga, event_id))[standing]["sold"] == 2
        assert await live.refunds_of(intent_id) == []


async def test_forged_stale_and_altered_webhooks_are_400_and_change_nothing(
    live: LiveApp,
) -> None:
    olga, alice = live.auth("olga", "organizer"), live.auth("alice")
    event_id, standing = await live.sale(olga)
    booking = await live.hold(alice, event_id, standing)
    payment = await live.start_payment(alice, booking["id"])
    intent_id = payment["provider_reference"]
    # only the test's endpoint hears from localstripe: the app gets what the test posts
    async with capturing_webhooks(live.stripe_server, live.webhook_secret) as capture:
        await live.buyer.pay(intent_id)
        genuine = await capture.event_for("payment_intent.succeeded", intent_id)
    signature = genuine.headers["Stripe-Signature"]
    stamp = int(signature.split(",")[0].removeprefix("t="))
    altered = genuine.body.replace(b'"succeeded"', b'"succeeded" ', 1)
    assert altered != genuine.body

    attempts: dict[str, tuple[bytes, str | None]] = {
        "altered body": (altered, signature),
        "forged (another secret)": (genuine.body, stripe_signature(genuine.body, "whsec_forged")),
        "stale (right secret, an hour old)": (
            genuine.body,
            stripe_signature(genuine.body, live.webhook_secret, int(time.time()) - 3600),
        ),
        "no signature": (genuine.body, None),
        "signature of another timestamp": (
            genuine.body,
            signature.replace(f"t={stamp}", f"t={stamp + 1}"),
        ),
    }
    for name, (body, header) in attempts.items():
        refused = await live.post_webhook(body, header)
        problem(refused, 400, "invalid_signature")
        assert (await live.booking(alice, booking["id"]))["status"] == "held", name
        assert await live.orders(alice) == [], name

    # the untouched delivery, posted the same way, is what confirms the order
    accepted = await live.post_webhook(genuine.body, signature)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"received": True, "kind": "payment_succeeded"}
    orders = await live.orders(alice)
    assert len(orders) == 1 and orders[0]["booking_id"] == booking["id"]


async def test_a_signed_event_of_an_unknown_payment_is_stored_and_ignored(
    live: LiveApp,
) -> None:
    """A correctly signed event about a PaymentIntent elTiketi never made (another integration
    on the same Stripe account): acknowledged so Stripe stops retrying, no effect."""
    intent = await live.sdk.v1.payment_intents.create_async(
        {"amount": 1234, "currency": "eur", "payment_method": "pm_card_visa"}
    )
    async with capturing_webhooks(live.stripe_server, live.webhook_secret) as capture:
        await live.sdk.v1.payment_intents.confirm_async(intent.id)
        delivery = await capture.event_for("payment_intent.succeeded", intent.id)

    answer = await live.post_webhook(delivery.body, delivery.headers["Stripe-Signature"])

    assert answer.status_code == 200, answer.text
    assert await live.orders(live.auth("alice")) == []
