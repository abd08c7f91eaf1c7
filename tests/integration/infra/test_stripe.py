"""Smoke tests: localstripe, driven by the real stripe SDK, pays, refunds and signs webhooks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import stripe
from aiohttp import web

from tests.infra.ports import LOOPBACK, free_port
from tests.infra.stripe import StripeServer, register_webhook, stripe_client

pytestmark = pytest.mark.stripe


@dataclass(frozen=True)
class Delivery:
    payload: bytes
    signature: str | None


@pytest.fixture
async def webhook_receiver() -> AsyncIterator[tuple[str, asyncio.Queue[Delivery]]]:
    """A tiny local HTTP endpoint that queues what Stripe (localstripe) posts to it."""
    deliveries: asyncio.Queue[Delivery] = asyncio.Queue()

    async def receive(request: web.Request) -> web.Response:
        await deliveries.put(
            Delivery(await request.read(), request.headers.get("Stripe-Signature"))
        )
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/webhook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port).start()
    try:
        yield f"http://{LOOPBACK}:{port}/webhook", deliveries
    finally:
        await runner.cleanup()


async def test_payment_intent_confirm_and_refund(stripe_server: StripeServer) -> None:
    client = stripe_client(stripe_server)
    intent = await client.v1.payment_intents.create_async(
        params={
            "amount": 2500,
            "currency": "eur",
            "payment_method": "pm_card_visa",
            "metadata": {"booking_id": "bk_smoke_1"},
        }
    )
    await client.v1.payment_intents.confirm_async(intent.id)

    fetched = await client.v1.payment_intents.retrieve_async(intent.id)
    assert fetched.status == "succeeded"
    assert (fetched.amount, fetched.currency) == (2500, "eur")
    assert fetched.metadata["booking_id"] == "bk_smoke_1"

    refund = await client.v1.refunds.create_async(params={"payment_intent": intent.id})
    assert refund.status == "succeeded"
    assert refund.amount == 2500


async def test_signed_webhook_for_a_succeeded_payment(
    stripe_server: StripeServer,
    webhook_receiver: tuple[str, asyncio.Queue[Delivery]],
) -> None:
    url, deliveries = webhook_receiver
    secret = "whsec_smoke_test"
    register_webhook(stripe_server, url, secret, events=["payment_intent.succeeded"])
    client = stripe_client(stripe_server)
    intent = await client.v1.payment_intents.create_async(
        params={
            "amount": 2500,
            "currency": "eur",
            "payment_method": "pm_card_visa",
            "metadata": {"booking_id": "bk_smoke_2"},
        }
    )
    await client.v1.payment_intents.confirm_async(intent.id)

    async with asyncio.timeout(15):
        while True:
            delivery = await deliveries.get()
            event = stripe.Webhook.construct_event(delivery.payload, delivery.signature, secret)
            if event["data"]["object"]["id"] == intent.id:
                break
    assert event["type"] == "payment_intent.succeeded"
    assert event["data"]["object"]["metadata"]["booking_id"] == "bk_smoke_2"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(delivery.payload, delivery.signature, "whsec_wrong")
