"""Pure translation between Stripe objects (plain dicts) and the payment port's types.

No I/O here, so every rule (status mapping, the booking id from metadata, Checkout's
30-minute minimum) is unit-tested without a Stripe server.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eltiketi_adapters.stripe.config import StripeConfig
from eltiketi_core.domain.booking import Booking
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.payment import Payment
from eltiketi_core.errors import ValidationFailed
from eltiketi_core.ports.payments import GatewayPaymentStatus, VerifiedPayment

if TYPE_CHECKING:  # the SDK's request types, for mypy only
    from stripe.params import PaymentIntentCreateParams
    from stripe.params.checkout import SessionCreateParams

CHECKOUT_MIN_LIFETIME = timedelta(minutes=30)
"""Stripe refuses a Checkout Session ``expires_at`` earlier than 30 minutes from creation."""
CHECKOUT_MAX_LIFETIME = timedelta(hours=24)
"""…and later than 24 hours from creation."""
CHECKOUT_RETRY_WINDOW = timedelta(minutes=5)
"""A retried ``start`` within this time after the payment row was created sends the very same
``expires_at``, so Stripe's idempotency key matches the first request instead of failing."""
_SAFETY = timedelta(minutes=1)

PENDING_INTENT_STATUSES = frozenset(
    {"processing", "requires_action", "requires_confirmation", "requires_capture"}
)


def idempotency_key_for(payment: Payment) -> str:
    """The port's contract: one provider-side payment per ``Payment``, however often retried."""
    return f"payment:{payment.id}"


def booking_id_from(metadata: object) -> UUID | None:
    """The booking id we wrote into the metadata; None when absent or not a UUID.

    None makes the core answer ``payment_mismatch``: a payment we cannot tie to the
    booking never confirms it.
    """
    if not isinstance(metadata, Mapping):
        return None
    raw = metadata.get("booking_id")
    if not isinstance(raw, str):
        return None
    try:
        return UUID(raw)
    except ValueError:
        return None


def money_from(amount: object, currency: object) -> Money | None:
    """Stripe's integer minor units and lowercase currency as :class:`Money`; None if odd."""
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(currency, str):
        return None
    try:
        return Money(amount, currency.upper())
    except ValidationFailed:
        return None


def failure_reason_from(error: object) -> str | None:
    """``code: message`` of a ``last_payment_error`` (or any Stripe error dict)."""
    if not isinstance(error, Mapping):
        return None
    code = error.get("decline_code") or error.get("code")
    message = error.get("message")
    parts = [str(part) for part in (code, message) if part]
    return ": ".join(parts) if parts else "payment_failed"


def verified_from_payment_intent(intent: Mapping[str, Any]) -> VerifiedPayment:
    """Map a PaymentIntent: succeeded, failed (a declined attempt), cancelled or pending.

    ``requires_payment_method`` is both the state of a fresh intent (pending) and of one
    whose attempt was declined; ``last_payment_error`` tells them apart. The amount is
    what Stripe received once it succeeded (``amount_received``, when the API sends it),
    otherwise the amount asked for, so a pending payment does not look mismatched.
    """
    status = intent.get("status")
    error = intent.get("last_payment_error")
    amount_value = intent.get("amount")
    received = intent.get("amount_received")
    failure: str | None = None
    if status == "succeeded":
        result = GatewayPaymentStatus.SUCCEEDED
        if isinstance(received, int) and received > 0:
            amount_value = received
    elif status == "canceled":
        result = GatewayPaymentStatus.CANCELLED
        reason = intent.get("cancellation_reason")
        failure = f"canceled: {reason}" if reason else "canceled"
    elif status == "requires_payment_method" and error:
        result = GatewayPaymentStatus.FAILED
        failure = failure_reason_from(error)
    else:
        result = GatewayPaymentStatus.PENDING
    return VerifiedPayment(
        provider_reference=str(intent.get("id")),
        status=result,
        booking_id=booking_id_from(intent.get("metadata")),
        amount=money_from(amount_value, intent.get("currency")),
        failure_reason=failure,
    )


def verified_from_checkout_session(session: Mapping[str, Any]) -> VerifiedPayment:
    """Map a Checkout Session: ``payment_status == "paid"`` is the only success.

    An ``open`` session stays pending even after a declined card, because the buyer may try
    another card on Stripe's page. A ``complete`` but unpaid session (a delayed payment
    method) is pending until its PaymentIntent (expanded, when present) failed.
    """
    payment_status = session.get("payment_status")
    status = session.get("status")
    failure: str | None = None
    if payment_status == "paid":
        result = GatewayPaymentStatus.SUCCEEDED
    elif status == "expired":
        result = GatewayPaymentStatus.CANCELLED
        failure = "checkout session expired"
    elif status == "complete":
        result = GatewayPaymentStatus.PENDING
        intent = session.get("payment_intent")
        if isinstance(intent, Mapping):
            inner = verified_from_payment_intent(intent)
            if inner.status in (GatewayPaymentStatus.FAILED, GatewayPaymentStatus.CANCELLED):
                result = GatewayPaymentStatus.FAILED
                failure = inner.failure_reason
    else:
        result = GatewayPaymentStatus.PENDING
    return VerifiedPayment(
        provider_reference=str(session.get("id")),
        status=result,
        booking_id=booking_id_from(session.get("metadata")),
        amount=money_from(session.get("amount_total"), session.get("currency")),
        failure_reason=failure,
    )


def payment_metadata(payment: Payment, booking: Booking) -> dict[str, str]:
    """What ties a Stripe object back to us; ``booking_id`` is checked at confirmation."""
    return {
        "booking_id": str(booking.id),
        "payment_id": str(payment.id),
        "event_id": str(booking.event_id),
    }


def _check_payable(payment: Payment, booking: Booking) -> None:
    if payment.booking_id != booking.id:
        raise ValidationFailed(
            "payment_mismatch", f"payment {payment.id} is not for booking {booking.id}"
        )
    if payment.amount.amount <= 0:
        raise ValidationFailed("amount_not_positive", "Stripe cannot take a zero amount")


def payment_intent_params(
    payment: Payment, booking: Booking, config: StripeConfig
) -> PaymentIntentCreateParams:
    """Parameters of the PaymentIntent for ``payment`` (amount and currency from the payment)."""
    _check_payable(payment, booking)
    params: PaymentIntentCreateParams = {
        "amount": payment.amount.amount,
        "currency": payment.amount.currency.lower(),
        "metadata": payment_metadata(payment, booking),
    }
    if config.allowed_payment_method_types:
        params["allowed_payment_method_types"] = list(config.allowed_payment_method_types)
    # Otherwise Stripe applies the dashboard's dynamic payment methods (automatic payment
    # methods are the default for the API version the SDK pins).
    return params


def checkout_expires_at(
    hold_expires_at: datetime, payment_created_at: datetime, now: datetime
) -> datetime:
    """When the Checkout Session expires: the hold's end, but within Stripe's 30 min–24 h.

    When the hold ends first, the core expires the Session through the API
    (:meth:`StripePaymentGateway.cancel`) — Stripe cannot be told to end it sooner.
    The lower bound is derived from the payment's creation time, not ``now``, so a retry of
    the same ``start`` repeats the same parameters under the same idempotency key.
    """
    earliest = payment_created_at + CHECKOUT_MIN_LIFETIME + CHECKOUT_RETRY_WINDOW
    earliest = max(earliest, now + CHECKOUT_MIN_LIFETIME + _SAFETY)
    latest = now + CHECKOUT_MAX_LIFETIME - CHECKOUT_RETRY_WINDOW
    return min(max(hold_expires_at, earliest), latest)


def checkout_session_params(
    payment: Payment,
    booking: Booking,
    *,
    expires_at: datetime,
    now: datetime,
    config: StripeConfig,
) -> SessionCreateParams:
    """Parameters of the Checkout Session: one line for the booking total, return URLs, metadata.

    One line for the total (rather than one per ticket type) because the booking carries no
    ticket-type names, and it makes ``amount_total`` equal the payment's amount exactly.
    """
    _check_payable(payment, booking)
    metadata = payment_metadata(payment, booking)
    booking_id = str(booking.id)
    quantity = booking.quantity
    tickets = "ticket" if quantity == 1 else "tickets"
    session_expires = checkout_expires_at(expires_at, payment.created_at, now)
    params: SessionCreateParams = {
        "mode": "payment",
        "client_reference_id": booking_id,
        "success_url": config.return_url(config.success_path, booking_id),
        "cancel_url": config.return_url(config.cancel_path, booking_id),
        "expires_at": math.ceil(session_expires.timestamp()),
        "metadata": metadata,
        "payment_intent_data": {
            "metadata": metadata,
            "description": f"elTiketi booking {booking_id}",
        },
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": payment.amount.currency.lower(),
                    "unit_amount": payment.amount.amount,
                    "product_data": {
                        "name": config.product_name,
                        "description": f"{quantity} {tickets}, booking {booking_id}",
                    },
                },
            }
        ],
    }
    if booking.contact.email:
        params["customer_email"] = booking.contact.email
    if config.allowed_payment_method_types:
        params["allowed_payment_method_types"] = list(config.allowed_payment_method_types)
    return params
