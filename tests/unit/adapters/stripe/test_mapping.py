"""Stripe objects → the port's VerifiedPayment, and the parameters we send to Stripe."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from eltiketi_adapters.stripe.config import StripeConfig
from eltiketi_adapters.stripe.mapping import (
    CHECKOUT_MIN_LIFETIME,
    booking_id_from,
    checkout_expires_at,
    checkout_session_params,
    idempotency_key_for,
    money_from,
    payment_intent_params,
    verified_from_checkout_session,
    verified_from_payment_intent,
)
from eltiketi_core.domain.money import Money
from eltiketi_core.errors import ValidationFailed
from eltiketi_core.ports.payments import GatewayPaymentStatus as Status
from tests.unit.adapters.stripe.builders import NOW, a_booking, a_payment

BOOKING_ID = uuid4()
CONFIG = StripeConfig(
    api_key="sk_test_unit",
    webhook_secret="whsec_unit",
    public_url="https://tickets.example.org/",
)


def an_intent(status: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": "pi_123",
        "object": "payment_intent",
        "status": status,
        "amount": 5000,
        "currency": "eur",
        "metadata": {"booking_id": str(BOOKING_ID), "payment_id": str(uuid4())},
        "last_payment_error": None,
        **fields,
    }


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("succeeded", Status.SUCCEEDED),
        ("requires_payment_method", Status.PENDING),
        ("requires_confirmation", Status.PENDING),
        ("requires_action", Status.PENDING),
        ("processing", Status.PENDING),
        ("requires_capture", Status.PENDING),
        ("canceled", Status.CANCELLED),
        ("some_future_status", Status.PENDING),
    ],
)
def test_payment_intent_status_maps_to_the_port(status: str, expected: Status) -> None:
    verified = verified_from_payment_intent(an_intent(status))

    assert verified.status is expected
    assert verified.provider_reference == "pi_123"
    assert verified.booking_id == BOOKING_ID
    assert verified.amount == Money(5000, "EUR")


def test_a_declined_attempt_is_failed_with_the_reason() -> None:
    intent = an_intent(
        "requires_payment_method",
        last_payment_error={"code": "card_declined", "message": "Your card was declined."},
    )

    verified = verified_from_payment_intent(intent)

    assert verified.status is Status.FAILED
    assert verified.failure_reason == "card_declined: Your card was declined."


def test_decline_code_is_preferred_to_the_generic_code() -> None:
    intent = an_intent(
        "requires_payment_method",
        last_payment_error={
            "code": "card_declined",
            "decline_code": "insufficient_funds",
            "message": "Your card has insufficient funds.",
        },
    )

    assert verified_from_payment_intent(intent).failure_reason == (
        "insufficient_funds: Your card has insufficient funds."
    )


def test_succeeded_reports_the_amount_received() -> None:
    verified = verified_from_payment_intent(an_intent("succeeded", amount_received=4000))

    assert verified.amount == Money(4000, "EUR")


def test_pending_reports_the_amount_asked_not_the_zero_received() -> None:
    verified = verified_from_payment_intent(an_intent("processing", amount_received=0))

    assert verified.amount == Money(5000, "EUR")


@pytest.mark.parametrize(
    "metadata",
    [None, {}, {"booking_id": "not-a-uuid"}, {"booking_id": 42}, "booking_id", {"other": "x"}],
)
def test_missing_or_garbage_booking_id_is_none(metadata: object) -> None:
    assert booking_id_from(metadata) is None
    assert (
        verified_from_payment_intent(an_intent("succeeded", metadata=metadata)).booking_id is None
    )


def test_another_bookings_payment_reports_that_booking() -> None:
    other = uuid4()
    verified = verified_from_payment_intent(
        an_intent("succeeded", metadata={"booking_id": str(other)})
    )

    assert verified.booking_id == other


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (1500, "eur", Money(1500, "EUR")),
        (1500, "USD", Money(1500, "USD")),
        (None, "eur", None),
        ("1500", "eur", None),
        (True, "eur", None),
        (1500, None, None),
        (1500, "euro", None),
    ],
)
def test_money_from_stripe_values(amount: object, currency: object, expected: Money | None) -> None:
    assert money_from(amount, currency) == expected


def a_session(status: str, payment_status: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": "cs_test_1",
        "object": "checkout.session",
        "status": status,
        "payment_status": payment_status,
        "amount_total": 5000,
        "currency": "eur",
        "metadata": {"booking_id": str(BOOKING_ID)},
        "payment_intent": None,
        **fields,
    }


@pytest.mark.parametrize(
    ("status", "payment_status", "expected"),
    [
        ("complete", "paid", Status.SUCCEEDED),
        ("open", "unpaid", Status.PENDING),
        ("complete", "unpaid", Status.PENDING),
        ("expired", "unpaid", Status.CANCELLED),
    ],
)
def test_checkout_session_status_maps_to_the_port(
    status: str, payment_status: str, expected: Status
) -> None:
    verified = verified_from_checkout_session(a_session(status, payment_status))

    assert verified.status is expected
    assert verified.provider_reference == "cs_test_1"
    assert verified.booking_id == BOOKING_ID
    assert verified.amount == Money(5000, "EUR")


def test_an_open_session_with_a_declined_card_stays_pending() -> None:
    """The buyer may still try another card on Stripe's page."""
    declined = an_intent(
        "requires_payment_method", last_payment_error={"code": "card_declined", "message": "no"}
    )

    verified = verified_from_checkout_session(a_session("open", "unpaid", payment_intent=declined))

    assert verified.status is Status.PENDING


def test_a_complete_session_whose_delayed_payment_failed_is_failed() -> None:
    failed = an_intent(
        "requires_payment_method",
        last_payment_error={"code": "debit_not_authorized", "message": "SEPA refused"},
    )

    verified = verified_from_checkout_session(
        a_session("complete", "unpaid", payment_intent=failed)
    )

    assert verified.status is Status.FAILED
    assert verified.failure_reason == "debit_not_authorized: SEPA refused"


def test_payment_intent_params_carry_amount_currency_and_metadata() -> None:
    booking = a_booking(total=Money(4200, "EUR"))
    payment = a_payment(booking)

    params = payment_intent_params(payment, booking, CONFIG)

    assert params["amount"] == 4200
    assert params["currency"] == "eur"
    assert params["metadata"] == {
        "booking_id": str(booking.id),
        "payment_id": str(payment.id),
        "event_id": str(booking.event_id),
    }
    assert "allowed_payment_method_types" not in params
    assert idempotency_key_for(payment) == f"payment:{payment.id}"


def test_payment_intent_params_can_restrict_payment_methods() -> None:
    booking = a_booking()
    config = StripeConfig(
        api_key="sk_test_unit", webhook_secret="whsec_unit", allowed_payment_method_types=("card",)
    )

    params = payment_intent_params(a_payment(booking), booking, config)

    assert params["allowed_payment_method_types"] == ["card"]


def test_a_payment_for_another_booking_is_refused_before_stripe() -> None:
    booking = a_booking()
    payment = a_payment(a_booking())

    with pytest.raises(ValidationFailed) as raised:
        payment_intent_params(payment, booking, CONFIG)

    assert raised.value.code == "payment_mismatch"


def test_a_zero_amount_is_refused_before_stripe() -> None:
    booking = a_booking(total=Money(0, "EUR"))

    with pytest.raises(ValidationFailed) as raised:
        payment_intent_params(a_payment(booking), booking, CONFIG)

    assert raised.value.code == "amount_not_positive"


def test_checkout_expiry_keeps_a_hold_longer_than_stripes_minimum() -> None:
    hold_end = NOW + timedelta(hours=2)

    assert checkout_expires_at(hold_end, payment_created_at=NOW, now=NOW) == hold_end


def test_checkout_expiry_of_a_short_hold_is_raised_to_stripes_minimum() -> None:
    hold_end = NOW + timedelta(minutes=15)

    expires = checkout_expires_at(hold_end, payment_created_at=NOW, now=NOW)

    assert expires >= NOW + CHECKOUT_MIN_LIFETIME
    assert expires <= NOW + timedelta(minutes=40)


def test_checkout_expiry_is_the_same_for_a_retry_soon_after() -> None:
    """Same parameters under the same idempotency key, or Stripe refuses the retry."""
    hold_end = NOW + timedelta(minutes=15)

    first = checkout_expires_at(hold_end, payment_created_at=NOW, now=NOW)
    retry = checkout_expires_at(
        hold_end, payment_created_at=NOW, now=NOW + timedelta(minutes=3, seconds=30)
    )

    assert retry == first


def test_checkout_expiry_of_a_late_retry_still_respects_the_minimum() -> None:
    later = NOW + timedelta(minutes=20)

    expires = checkout_expires_at(NOW + timedelta(minutes=15), payment_created_at=NOW, now=later)

    assert expires >= later + CHECKOUT_MIN_LIFETIME


def test_checkout_expiry_never_exceeds_stripes_24_hours() -> None:
    expires = checkout_expires_at(NOW + timedelta(days=3), payment_created_at=NOW, now=NOW)

    assert expires < NOW + timedelta(hours=24)


def test_checkout_session_params() -> None:
    booking = a_booking(total=Money(7300, "EUR"), email="ana@example.org")
    payment = a_payment(booking)

    params = checkout_session_params(
        payment, booking, expires_at=booking.expires_at, now=NOW, config=CONFIG
    )

    metadata = {
        "booking_id": str(booking.id),
        "payment_id": str(payment.id),
        "event_id": str(booking.event_id),
    }
    assert params["mode"] == "payment"
    assert params["client_reference_id"] == str(booking.id)
    assert params["success_url"] == (
        f"https://tickets.example.org/bookings/{booking.id}?payment=success"
    )
    assert params["cancel_url"] == (
        f"https://tickets.example.org/bookings/{booking.id}?payment=cancelled"
    )
    assert params["metadata"] == metadata
    assert params["payment_intent_data"]["metadata"] == metadata
    assert params["customer_email"] == "ana@example.org"
    assert params["expires_at"] >= int((NOW + CHECKOUT_MIN_LIFETIME).timestamp())
    [line] = params["line_items"]
    assert line["quantity"] == 1
    price = line["price_data"]
    assert (price["currency"], price["unit_amount"]) == ("eur", 7300)
    assert price["product_data"]["name"] == "Tickets"
