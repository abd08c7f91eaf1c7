"""The Checkout Session path, which localstripe lacks, through the real SDK and a recording client.

How this is tested, honestly: ``StripePaymentGateway`` runs unchanged with the real
``stripe.StripeClient``; only the SDK's HTTP transport is replaced by
:class:`~tests.integration.stripe.recording_stripe.RecordingStripe`, which records every
request exactly as the SDK encoded it (method, path, form body, headers) and answers with
Stripe-shaped JSON from a small in-memory model.

Covered: the parameters sent to Stripe (mode, line item, amount, currency, return URLs with the
booking id, metadata on the Session and on its PaymentIntent, ``client_reference_id``,
``expires_at`` at least 30 minutes ahead, the ``payment:{id}`` idempotency key and its reuse by
the SDK's own retries), the gateway's reading of Session answers (pending, paid, expired), the
expire call, refunding through the Session's PaymentIntent, and the translation of Stripe
failures into domain errors.

Not covered: whether Stripe's real API accepts these parameters (validated only against the
SDK's request types and Stripe's API reference), Stripe's hosted page, and Checkout webhooks
delivered by Stripe (their mapping is unit-tested with bodies signed like Stripe signs them).
Check those once with a Stripe test-mode key and ``stripe listen`` (docs/stripe.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import stripe

from eltiketi_adapters.stripe import StripeConfig, StripePaymentGateway
from eltiketi_core.domain.money import Money
from eltiketi_core.errors import GatewayUnavailable, PaymentIncomplete
from eltiketi_core.ports.payments import GatewayPaymentStatus as Status
from tests.integration.stripe.recording_stripe import RecordingStripe
from tests.unit.adapters.stripe.builders import a_booking, a_payment

API_KEY = "sk_test_recorded"
PUBLIC_URL = "https://tickets.example.org"


@dataclass
class MutableClock:
    instant: datetime

    def now(self) -> datetime:
        return self.instant


@pytest.fixture
def stripe_model() -> RecordingStripe:
    return RecordingStripe()


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock(datetime.now(UTC).replace(microsecond=0))


def checkout_config(**overrides: object) -> StripeConfig:
    settings: dict[str, object] = {
        "api_key": API_KEY,
        "webhook_secret": "whsec_recorded",
        "mode": "checkout",
        "public_url": PUBLIC_URL,
        "max_network_retries": 0,
        **overrides,
    }
    return StripeConfig(**settings)  # type: ignore[arg-type]


@pytest.fixture
async def gateway(
    stripe_model: RecordingStripe, clock: MutableClock
) -> AsyncIterator[StripePaymentGateway]:
    async with StripePaymentGateway(
        checkout_config(), http_client=stripe_model, clock=clock
    ) as gateway:
        yield gateway


async def test_start_sends_a_checkout_session_for_the_booking(
    gateway: StripePaymentGateway, stripe_model: RecordingStripe, clock: MutableClock
) -> None:
    booking = a_booking(total=Money(7350, "EUR"), now=clock.now(), email="ana@example.org")
    payment = a_payment(booking)

    session = await gateway.start(payment, booking, expires_at=booking.expires_at)

    [request] = stripe_model.requests
    assert (request.method, request.path) == ("POST", "/v1/checkout/sessions")
    assert request.header("Idempotency-Key") == f"payment:{payment.id}"
    assert request.header("Authorization") == f"Bearer {API_KEY}"
    assert request.header("Stripe-Version")
    form = request.form
    assert form["mode"] == "payment"
    assert form["line_items[0][quantity]"] == "1"
    assert form["line_items[0][price_data][currency]"] == "eur"
    assert form["line_items[0][price_data][unit_amount]"] == "7350"
    assert form["line_items[0][price_data][product_data][name]"] == "Tickets"
    assert form["success_url"] == f"{PUBLIC_URL}/bookings/{booking.id}?payment=success"
    assert form["cancel_url"] == f"{PUBLIC_URL}/bookings/{booking.id}?payment=cancelled"
    assert form["client_reference_id"] == str(booking.id)
    assert form["customer_email"] == "ana@example.org"
    for prefix in ("metadata", "payment_intent_data[metadata]"):
        assert form[f"{prefix}[booking_id]"] == str(booking.id)
        assert form[f"{prefix}[payment_id]"] == str(payment.id)
    assert "allowed_payment_method_types[0]" not in form
    assert session.provider_reference.startswith("cs_")
    assert session.checkout_url == f"https://checkout.stripe.com/c/pay/{session.provider_reference}"
    assert session.client_secret is None


async def test_a_15_minute_hold_gets_stripes_30_minute_minimum(
    gateway: StripePaymentGateway, stripe_model: RecordingStripe, clock: MutableClock
) -> None:
    """The hold ends first; the core then expires the Session through ``cancel``."""
    booking = a_booking(now=clock.now(), hold=timedelta(minutes=15))

    await gateway.start(a_payment(booking), booking, expires_at=booking.expires_at)

    expires_at = int(stripe_model.requests[0].form["expires_at"])
    assert expires_at >= (clock.now() + timedelta(minutes=30)).timestamp()
    assert expires_at <= (clock.now() + timedelta(minutes=40)).timestamp()


async def test_a_long_hold_keeps_its_own_end(
    gateway: StripePaymentGateway, stripe_model: RecordingStripe, clock: MutableClock
) -> None:
    booking = a_booking(now=clock.now(), hold=timedelta(hours=2))

    await gateway.start(a_payment(booking), booking, expires_at=booking.expires_at)

    assert int(stripe_model.requests[0].form["expires_at"]) == int(booking.expires_at.timestamp())


async def test_a_retried_start_repeats_the_same_request_and_gets_the_same_session(
    gateway: StripePaymentGateway, stripe_model: RecordingStripe, clock: MutableClock
) -> None:
    booking = a_booking(now=clock.now())
    payment = a_payment(booking)

    first = await gateway.start(payment, booking, expires_at=booking.expires_at)
    clock.instant += timedelta(minutes=2)
    second = await gateway.start(payment, booking, expires_at=booking.expires_at)

    one, two = stripe_model.posts_to("/v1/checkout/sessions")
    assert one.header("Idempotency-Key") == two.header("Idempotency-Key") == f"payment:{payment.id}"
    assert one.form == two.form
    assert second == first
    assert len(stripe_model.sessions) == 1


async def test_the_sdk_retries_a_stripe_500_with_the_same_idempotency_key(
    stripe_model: RecordingStripe, clock: MutableClock
) -> None:
    booking = a_booking(now=clock.now())
    payment = a_payment(booking)
    stripe_model.scripted.append((500, {"error": {"type": "api_error", "message": "oops"}}))

    async with StripePaymentGateway(
        checkout_config(max_network_retries=1), http_client=stripe_model, clock=clock
    ) as gateway:
        session = await gateway.start(payment, booking, expires_at=booking.expires_at)

    failed, retried = stripe_model.posts_to("/v1/checkout/sessions")
    assert failed.header("Idempotency-Key") == retried.header("Idempotency-Key")
    assert failed.form == retried.form
    assert session.provider_reference in stripe_model.sessions


async def test_verify_reads_the_session_open_then_paid(
    gateway: StripePaymentGateway, stripe_model: RecordingStripe, clock: MutableClock
) -> None:
    booking = a_booking(total=Money(4000, "EUR"), now=clock.now())
    session = await gateway.start(a_payment(booking), booking, expires_at=booking.expires_at)

    before = await gateway.verify(session.provider_reference)
    stripe_model.pay(session.provider_reference)
    after = await gateway.verify(session.provider_reference)

    assert before.status is Status.PENDING
    assert after.status is Status.SUCCEEDED
    for verified in (before, after):
        assert verified.provider_reference == session.provider_reference
        assert verified.booking_id == booking.id
        assert verified.amount == Money(4000, "EUR")
    retrieve = stripe_model.requests[-1]
    assert (retrieve.method, retrieve.path) == (
        "GET",
        f"/v1/checkout/sessions/{session.provider_reference}",
    )
    assert retrieve.query == {"expand[0]": "payment_intent"}


async def test_cancel_expires_an_open_session(
    gateway: StripePaymentGateway, stripe_model: RecordingStripe, clock: MutableClock
) -> None:
    booking = a_booking(now=clock.now())
    session = await gateway.start(a_payment(booking), booking, expires_at=booking.expires_at)

    cancelled = await gateway.cancel(session.provider_reference)

    assert cancelled.status is Status.CANCELLED
    assert cancelled.booking_id == booking.id
    assert stripe_model.posts_to(f"/v1/checkout/sessions/{session.provider_reference}/expire")
    assert stripe_model.sessions[session.provider_reference]["status"] == "expired"


async def test_cancel_of_a_paid_session_reports_succeeded(
    gateway: StripePaymentGateway, stripe_model: RecordingStripe, clock: MutableClock
) -> None:
    booking = a_booking(now=clock.now())
    session = await gateway.start(a_payment(booking), booking, expires_at=booking.expires_at)
    stripe_model.pay(session.provider_reference)

    result = await gateway.cancel(session.provider_reference)

    assert result.status is Status.SUCCEEDED
    assert result.amount == booking.total


async def test_refund_goes_to_the_sessions_payment_intent(
    gateway: StripePaymentGateway, stripe_model: RecordingStripe, clock: MutableClock
) -> None:
    booking = a_booking(total=Money(5000, "EUR"), now=clock.now())
    session = await gateway.start(a_payment(booking), booking, expires_at=booking.expires_at)
    intent_id = stripe_model.pay(session.provider_reference)

    refund_id = await gateway.refund(
        session.provider_reference, Money(5000, "EUR"), idempotency_key="refund:abc"
    )

    [request] = stripe_model.posts_to("/v1/refunds")
    assert request.form["payment_intent"] == intent_id
    assert request.form["amount"] == "5000"
    assert request.header("Idempotency-Key") == "refund:abc"
    assert refund_id in stripe_model.refunds


async def test_stripe_failures_become_domain_errors(
    gateway: StripePaymentGateway, stripe_model: RecordingStripe, clock: MutableClock
) -> None:
    booking = a_booking(now=clock.now())
    payment = a_payment(booking)
    stripe_model.scripted.extend(
        [
            (503, {"error": {"type": "api_error", "message": "Stripe is down"}}),
            stripe.APIConnectionError("connection reset"),
            (
                402,
                {"error": {"type": "card_error", "code": "card_declined", "message": "Declined"}},
            ),
        ]
    )

    with pytest.raises(GatewayUnavailable) as server_error:
        await gateway.start(payment, booking, expires_at=booking.expires_at)
    with pytest.raises(GatewayUnavailable) as network_error:
        await gateway.verify("cs_test_any")
    with pytest.raises(PaymentIncomplete) as card_error:
        await gateway.start(payment, booking, expires_at=booking.expires_at)

    assert server_error.value.code == network_error.value.code == "stripe_unavailable"
    assert card_error.value.code == "card_declined"


async def test_aclose_closes_the_http_client(stripe_model: RecordingStripe) -> None:
    gateway = StripePaymentGateway(checkout_config(), http_client=stripe_model)

    await gateway.aclose()

    assert stripe_model.closed
