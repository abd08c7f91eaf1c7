"""Payments and refunds: money records, separate from the gateway that moves the money."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

import msgspec

from eltiketi_core.domain.money import Money


class PaymentStatus(StrEnum):
    """``open`` payments may still succeed; a booking has at most one open payment."""

    OPEN = "open"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


OPEN_PAYMENT_STATUSES = frozenset({PaymentStatus.OPEN})


class Payment(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    booking_id: UUID
    buyer: str
    provider: str
    amount: Money
    status: PaymentStatus
    created_at: datetime
    provider_reference: str | None = None
    checkout_url: str | None = None
    client_secret: str | None = None

    def with_status(self, status: PaymentStatus) -> Payment:
        return msgspec.structs.replace(self, status=status)


class RefundReason(StrEnum):
    """Why money goes back. A payment is refunded at most once per reason."""

    HOLD_LOST = "hold_lost"
    CUSTOMER_CANCELLED = "customer_cancelled"
    EVENT_CANCELLED = "event_cancelled"
    ORGANIZER_CANCELLED = "organizer_cancelled"
    """The event's organizer cancelled one order (back office), whatever the cut-off."""


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Refund(msgspec.Struct, frozen=True, kw_only=True):
    """Written in the transaction that decides it; executed later through the outbox.

    The gateway call uses ``refund:{id}`` as its idempotency key, so running it
    twice moves the money once.
    """

    id: UUID
    payment_id: UUID
    booking_id: UUID
    order_id: UUID | None
    buyer: str
    amount: Money
    reason: RefundReason
    status: RefundStatus
    created_at: datetime
    provider_reference: str | None = None
    error: str | None = None

    @property
    def idempotency_key(self) -> str:
        return f"refund:{self.id}"
