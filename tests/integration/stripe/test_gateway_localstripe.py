"""StripePaymentGateway against localstripe, driven by the real ``stripe`` SDK.

The buyer's side (attaching a card and confirming, which Stripe.js does in a browser) is played
by the test with its own SDK client, the way localstripe supports it: set ``payment_method`` on
the PaymentIntent, then ``confirm`` with no parameters. localstripe ignores idempotency keys and
has no ``amount_received``; those paths are covered in ``test_checkout_recorded.py`` and the
unit tests.
"""

from __future__ import annotations

import pytest
import stripe

from eltiketi_adapters.stripe import StripePaymentGateway
from eltiketi_core.domain.money import Money
from eltiketi_core.errors import Conflict, GatewayUnavailable, NotFound, ValidationFailed
from eltiketi_core.ports.payments import GatewayPaymentStatus as Status
from tests.infra.ports import free_port
from tests.infra.stripe import StripeServer, stripe_client
from tests.integration.stripe.conftest import localstripe_config
from tests.unit.adapters.stripe.builders import a_booking, a_payment

pytestmark = pytest.mark.stripe

VISA = "pm_card_visa"
DECLINED_ON_CHARGE = "pm_card_chargeCustomerFail"  # 4000000000000341: attaches, then declines


async def pay_as_buyer(server: StripeServer, intent_id: str, payment_method: str = VISA) -> None:
    """What Stripe.js does with the client secret: attach a card and confirm."""
    buyer = stripe_client(server)
    await buyer.v1.payment_intents.update_async(intent_id, {"payment_method": payment_method})
    await buyer.v1.payment_intents.confirm_async(intent_id)


async def test_start_creates_a_payment_intent_for_the_booking(
    gateway: StripePaymentGateway, stripe_server: StripeServer
) -> None:
    booking = a_booking(total=Money(4250, "EUR"))
    payment = a_payment(booking)

    session = await gateway.start(payment, booking, expires_at=booking.expires_at)

    assert session.provider_reference.startswith("pi_")
    assert session.client_secret is not None
    assert session.client_secret.startswith(session.provider_reference)
    assert session.checkout_url is None
    intent = await stripe_client(stripe_server).v1.payment_intents.retrieve_async(
        session.provider_reference
    )
    assert (intent.amount, intent.currency) == (4250, "eur")
    assert intent.metadata["booking_id"] == str(booking.id)
    assert intent.metadata["payment_id"] == str(payment.id)
    assert intent.status == "requires_payment_method"


async def test_an_unpaid_intent_verifies_pending(gateway: StripePaymentGateway) -> None:
    booking = a_booking()
    session = await gateway.start(a_payment(booking), booking, expires_at=booking.expires_at)

    verified = await gateway.verify(session.provider_reference)

    assert verified.status is Status.PENDING
    assert verified.booking_id == booking.id
    assert verified.amount == booking.total


async def test_a_paid_intent_verifies_succeeded_with_booking_and_amount(
    gateway: StripePaymentGateway, stripe_server: StripeServer
) -> None:
    booking = a_booking(total=Money(9900, "EUR"))
    session = await gateway.start(a_payment(booking), booking, expires_at=booking.expires_at)

    await pay_as_buyer(stripe_server, session.provider_reference)
    verified = await gateway.verify(session.provider_reference)

    assert verified.status is Status.SUCCEEDED
    assert verified.provider_reference == session.provider_reference
    assert verified.booking_id == booking.id
    assert verified.amount == Money(9900, "EUR")
    assert verified.failure_reason is None


async def test_a_declined_card_verifies_failed_with_the_reason(
    gateway: StripePaymentGateway, stripe_server: StripeServer
) -> None:
    booking = a_booking()
    session = await gateway.start(a_payment(booking), booking, expires_at=booking.expires_at)

    with pytest.raises(stripe.CardError):  # the buyer's browser sees the decline
        await pay_as_buyer(stripe_server, session.provider_reference, DECLINED_ON_CHARGE)
    verified = await gateway.verify(session.provider_reference)

    assert verified.status is Status.FAILED
    assert verified.failure_reason is not None
    assert "card_declined" in verified.failure_reason
    assert verified.booking_id == booking.id


async def test_an_intent_of_another_booking_reports_that_booking(
    gateway: StripePaymentGateway, stripe_server: StripeServer
) -> None:
    """The core compares this with its own booking and answers ``payment_mismatch``."""
    paid_booking = a_booking()
    other_booking = a_booking()
    session = await gateway.start(
        a_payment(paid_booking), paid_booking, expires_at=paid_booking.expires_at
    )
    await pay_as_buyer(stripe_server, session.provider_reference)

    verified = await gateway.verify(session.provider_reference)

    assert verified.status is Status.SUCCEEDED
    assert verified.booking_id == paid_booking.id
    assert verified.booking_id != other_booking.id


async def test_an_intent_made_outside_elTiketi_has_no_booking(
    gateway: StripePaymentGateway, stripe_server: StripeServer
) -> None:
    """Someone's own PaymentIntent (other amount, garbage metadata) never looks like ours."""
    foreign = await stripe_client(stripe_server).v1.payment_intents.create_async(
        {
            "amount": 100,
            "currency": "usd",
            "payment_method": VISA,
            "metadata": {"booking_id": "definitely-not-a-uuid"},
        }
    )
    await stripe_client(stripe_server).v1.payment_intents.confirm_async(foreign.id)

    verified = await gateway.verify(foreign.id)

    assert verified.status is Status.SUCCEEDED
    assert verified.booking_id is None
    assert verified.amount == Money(100, "USD")


async def test_cancel_an_open_intent(
    gateway: StripePaymentGateway, stripe_server: StripeServer
) -> None:
    booking = a_booking()
    session = await gateway.start(a_payment(booking), booking, expires_at=booking.expires_at)

    cancelled = await gateway.cancel(session.provider_reference)

    assert cancelled.status is Status.CANCELLED
    assert cancelled.booking_id == booking.id
    assert (await gateway.verify(session.provider_reference)).status is Status.CANCELLED
    intent = await stripe_client(stripe_server).v1.payment_intents.retrieve_async(
        session.provider_reference
    )
    assert intent.status == "canceled"


async def test_cancelling_twice_reports_cancelled(gateway: StripePaymentGateway) -> None:
    booking = a_booking()
    session = await gateway.start(a_payment(booking), booking, expires_at=booking.expires_at)
    await gateway.cancel(session.provider_reference)

    again = await gateway.cancel(session.provider_reference)

    assert again.status is Status.CANCELLED


async def test_cancel_after_the_money_arrived_reports_succeeded(
    gateway: StripePaymentGateway, stripe_server: StripeServer
) -> None:
    """The payment-after-expiry path: Stripe refuses to cancel, the gateway says it was paid."""
    booking = a_booking()
    session = await gateway.start(a_payment(booking), booking, expires_at=booking.expires_at)
    await pay_as_buyer(stripe_server, session.provider_reference)

    result = await gateway.cancel(session.provider_reference)

    assert result.status is Status.SUCCEEDED
    assert result.booking_id == booking.id
    assert result.amount == booking.total


async def test_refund_creates_the_refund_in_stripe(
    gateway: StripePaymentGateway, stripe_server: StripeServer
) -> None:
    booking = a_booking(total=Money(6000, "EUR"))
    session = await gateway.start(a_payment(booking), booking, expires_at=booking.expires_at)
    await pay_as_buyer(stripe_server, session.provider_reference)

    refund_id = await gateway.refund(
        session.provider_reference, Money(6000, "EUR"), idempotency_key="refund:test-full"
    )

    refund = await stripe_client(stripe_server).v1.refunds.retrieve_async(refund_id)
    assert refund_id.startswith("re_")
    assert refund.status == "succeeded"
    assert refund.amount == 6000
    assert refund.currency == "eur"
    assert refund.payment_intent == session.provider_reference
    assert refund.metadata is not None
    assert refund.metadata["idempotency_key"] == "refund:test-full"


async def test_a_partial_refund(gateway: StripePaymentGateway, stripe_server: StripeServer) -> None:
    booking = a_booking(total=Money(6000, "EUR"))
    session = await gateway.start(a_payment(booking), booking, expires_at=booking.expires_at)
    await pay_as_buyer(stripe_server, session.provider_reference)

    refund_id = await gateway.refund(
        session.provider_reference, Money(2500, "EUR"), idempotency_key="refund:test-partial"
    )

    refund = await stripe_client(stripe_server).v1.refunds.retrieve_async(refund_id)
    assert refund.amount == 2500


async def test_refunding_an_unpaid_intent_is_a_conflict(gateway: StripePaymentGateway) -> None:
    booking = a_booking()
    session = await gateway.start(a_payment(booking), booking, expires_at=booking.expires_at)

    with pytest.raises(Conflict) as raised:
        await gateway.refund(session.provider_reference, booking.total, idempotency_key="refund:x")

    assert raised.value.code == "payment_not_succeeded"


async def test_refund_in_another_currency_or_above_the_payment_is_refused(
    gateway: StripePaymentGateway, stripe_server: StripeServer
) -> None:
    booking = a_booking(total=Money(3000, "EUR"))
    session = await gateway.start(a_payment(booking), booking, expires_at=booking.expires_at)
    await pay_as_buyer(stripe_server, session.provider_reference)

    with pytest.raises(ValidationFailed) as currency:
        await gateway.refund(session.provider_reference, Money(3000, "USD"), idempotency_key="r:1")
    with pytest.raises(ValidationFailed) as too_much:
        await gateway.refund(session.provider_reference, Money(3001, "EUR"), idempotency_key="r:2")

    assert currency.value.code == "refund_currency_mismatch"
    assert too_much.value.code == "refund_amount_too_large"
    refunds = await stripe_client(stripe_server).v1.refunds.list_async(
        {"payment_intent": session.provider_reference}
    )
    assert refunds.data == []


async def test_an_unknown_reference_is_not_found(gateway: StripePaymentGateway) -> None:
    with pytest.raises(NotFound) as raised:
        await gateway.verify("pi_doesnotexist")

    assert raised.value.code == "payment_not_found"


async def test_stripe_unreachable_is_gateway_unavailable(stripe_server: StripeServer) -> None:
    closed_port = free_port()
    config = localstripe_config(stripe_server, api_base=f"http://127.0.0.1:{closed_port}")
    booking = a_booking()

    async with StripePaymentGateway(config) as gateway:
        with pytest.raises(GatewayUnavailable) as raised:
            await gateway.start(a_payment(booking), booking, expires_at=booking.expires_at)

    assert raised.value.code == "stripe_unavailable"


async def test_a_wrong_api_key_is_gateway_unavailable_misconfigured(
    stripe_server: StripeServer,
) -> None:
    config = localstripe_config(stripe_server, api_key="not_a_stripe_key")

    async with StripePaymentGateway(config) as gateway:
        with pytest.raises(GatewayUnavailable) as raised:
            await gateway.verify("pi_whatever")

    assert raised.value.code == "stripe_misconfigured"
