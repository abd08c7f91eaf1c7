"""Webhooks signed by localstripe, delivered over HTTP, verified by ``parse_webhook``.

A tiny aiohttp endpoint in the test receives what localstripe posts (raw body and headers,
exactly what the app's ``POST /v1/payments/stripe/webhook`` will hand to the gateway).
localstripe's webhook registrations are global and permanent, so each test registers its own
endpoint id and picks out the deliveries for its own PaymentIntent.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import stripe

from eltiketi_adapters.stripe import StripePaymentGateway
from eltiketi_core.errors import WebhookRejected
from eltiketi_core.ports.payments import WebhookKind
from tests.infra.ports import LOOPBACK, free_port
from tests.infra.stripe import StripeServer, register_webhook, stripe_client
from tests.integration.stripe.conftest import WEBHOOK_SECRET, localstripe_config
from tests.unit.adapters.stripe.builders import a_booking, a_payment

pytestmark = pytest.mark.stripe

DELIVERY_TIMEOUT = 15.0


@dataclass(frozen=True)
class Delivery:
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Receiver:
    url: str
    deliveries: asyncio.Queue[Delivery]

    async def event_for(self, event_type: str, object_id: str) -> Delivery:
        """The first delivery of ``event_type`` about ``object_id`` (others are skipped)."""
        async with asyncio.timeout(DELIVERY_TIMEOUT):
            while True:
                delivery = await self.deliveries.get()
                event = json.loads(delivery.body)
                if event["type"] == event_type and event["data"]["object"]["id"] == object_id:
                    return delivery


@pytest.fixture
async def receiver(stripe_server: StripeServer) -> AsyncIterator[Receiver]:
    """A local HTTP endpoint registered with localstripe for the payment events."""
    from aiohttp import web  # localstripe's own dependency

    deliveries: asyncio.Queue[Delivery] = asyncio.Queue()

    async def receive(request: web.Request) -> web.Response:
        await deliveries.put(Delivery(await request.read(), dict(request.headers)))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/v1/payments/stripe/webhook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port).start()
    url = f"http://{LOOPBACK}:{port}/v1/payments/stripe/webhook"
    register_webhook(
        stripe_server,
        url,
        WEBHOOK_SECRET,
        events=["payment_intent.succeeded", "payment_intent.payment_failed"],
        webhook_id=f"wh_{uuid.uuid4().hex[:16]}",
    )
    try:
        yield Receiver(url, deliveries)
    finally:
        await runner.cleanup()


async def pay_as_buyer(server: StripeServer, intent_id: str, payment_method: str) -> None:
    buyer = stripe_client(server)
    await buyer.v1.payment_intents.update_async(intent_id, {"payment_method": payment_method})
    await buyer.v1.payment_intents.confirm_async(intent_id)


async def test_a_signed_payment_succeeded_webhook_is_accepted(
    gateway: StripePaymentGateway, stripe_server: StripeServer, receiver: Receiver
) -> None:
    booking = a_booking()
    session = await gateway.start(a_payment(booking), booking, expires_at=booking.expires_at)
    await pay_as_buyer(stripe_server, session.provider_reference, "pm_card_visa")

    delivery = await receiver.event_for("payment_intent.succeeded", session.provider_reference)
    notice = gateway.parse_webhook(delivery.body, delivery.headers)

    assert notice.kind is WebhookKind.PAYMENT_SUCCEEDED
    assert notice.provider_reference == session.provider_reference
    assert notice.event_id == json.loads(delivery.body)["id"]
    assert notice.event_id.startswith("evt_")
    # the notice says "go and verify"; verification agrees
    verified = await gateway.verify(notice.provider_reference)
    assert verified.booking_id == booking.id


async def test_a_declined_payment_webhook_carries_the_failure(
    gateway: StripePaymentGateway, stripe_server: StripeServer, receiver: Receiver
) -> None:
    booking = a_booking()
    session = await gateway.start(a_payment(booking), booking, expires_at=booking.expires_at)
    with pytest.raises(stripe.CardError):
        await pay_as_buyer(stripe_server, session.provider_reference, "pm_card_chargeCustomerFail")

    delivery = await receiver.event_for("payment_intent.payment_failed", session.provider_reference)
    notice = gateway.parse_webhook(delivery.body, delivery.headers)

    assert notice.kind is WebhookKind.PAYMENT_FAILED
    assert notice.provider_reference == session.provider_reference
    assert notice.failure_reason is not None
    assert "card_declined" in notice.failure_reason


async def test_the_same_delivery_is_rejected_with_another_secret_or_an_altered_body(
    gateway: StripePaymentGateway, stripe_server: StripeServer, receiver: Receiver
) -> None:
    booking = a_booking()
    session = await gateway.start(a_payment(booking), booking, expires_at=booking.expires_at)
    await pay_as_buyer(stripe_server, session.provider_reference, "pm_card_visa")
    delivery = await receiver.event_for("payment_intent.succeeded", session.provider_reference)
    altered = delivery.body.replace(session.provider_reference.encode(), b"pi_someone_else")

    async with StripePaymentGateway(
        localstripe_config(stripe_server, webhook_secret="whsec_not_the_endpoint_secret")
    ) as wrong_secret:
        with pytest.raises(WebhookRejected) as forged:
            wrong_secret.parse_webhook(delivery.body, delivery.headers)
    with pytest.raises(WebhookRejected) as tampered:
        gateway.parse_webhook(altered, delivery.headers)
    with pytest.raises(WebhookRejected) as unsigned:
        gateway.parse_webhook(
            delivery.body, {k: v for k, v in delivery.headers.items() if k != "Stripe-Signature"}
        )

    assert forged.value.code == tampered.value.code == unsigned.value.code == "invalid_signature"
    assert gateway.parse_webhook(delivery.body, delivery.headers).kind is (
        WebhookKind.PAYMENT_SUCCEEDED
    )
