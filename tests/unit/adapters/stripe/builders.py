"""Bookings, payments and signed webhook bodies for the Stripe adapter's tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eltiketi_core.domain.booking import Booking, BookingItem, BookingStatus, Contact
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.payment import Payment, PaymentStatus

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def a_booking(
    *,
    total: Money | None = None,
    now: datetime = NOW,
    hold: timedelta = timedelta(minutes=15),
    email: str | None = "buyer@example.org",
    booking_id: UUID | None = None,
) -> Booking:
    """A held booking: two tickets of one type whose prices add up to ``total``."""
    total = total or Money(5000, "EUR")
    first = Money(total.amount // 2, total.currency)
    second = Money(total.amount - first.amount, total.currency)
    items = (
        BookingItem(ticket_type_id=uuid4(), quantity=1, unit_price=first),
        BookingItem(ticket_type_id=uuid4(), quantity=1, unit_price=second),
    )
    return Booking(
        id=booking_id or uuid4(),
        event_id=uuid4(),
        buyer="user-alice",
        contact=Contact(email=email, phone=None),
        items=items,
        total=total,
        status=BookingStatus.HELD,
        created_at=now,
        expires_at=now + hold,
    )


def a_payment(booking: Booking, *, created_at: datetime | None = None) -> Payment:
    """The open payment for ``booking`` (its total), not yet started with the gateway."""
    return Payment(
        id=uuid4(),
        booking_id=booking.id,
        buyer=booking.buyer,
        provider="stripe",
        amount=booking.total,
        status=PaymentStatus.OPEN,
        created_at=created_at or booking.created_at,
    )


def stripe_signature(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """``Stripe-Signature`` exactly as Stripe builds it: HMAC-SHA256 of ``"{t}.{body}"``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def an_event(event_type: str, obj: dict[str, Any], event_id: str | None = None) -> bytes:
    """A Stripe event body as Stripe posts it."""
    event = {
        "id": event_id or f"evt_{uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "type": event_type,
        "livemode": False,
        "data": {"object": obj},
    }
    return json.dumps(event).encode()
