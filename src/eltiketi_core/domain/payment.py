"""Payments and refunds: money records, separate from the gateway that moves the money."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

import msgspec

from eltiketi_core.domain.money import Money


class PaymentStatus(StrEnum):
    """A payment's life, one compare-and-set per arrow (the gateway is the authority on money)::

        open ──► failed ──► cancelled          (retired at the gateway: nothing can be paid)
          │        │            │
          └────────┴────────────┴──► succeeded ──► refunded

    * ``open``: started, not decided. A booking has at most one open payment.
    * ``failed``: an attempt was declined. Not final: Stripe lets the buyer pay a declined
      PaymentIntent later, so a failed payment is *unfinished* until it is cancelled at the
      gateway — when the hold ends, and before the booking's next payment is opened.
    * ``cancelled``: retired at the gateway. Money can still turn up if it raced the
      cancellation; the gateway's answer decides.
    * ``succeeded``: the money arrived and was decided **in the same transaction**: it paid
      the booking's order, or it was refunded (then ``refunded`` at once). A succeeded payment
      is the one its order keeps.
    * ``refunded``: the money goes back (one :class:`Refund`, whatever the reason).

    So a payment that took money ends as exactly one of: the order it paid (kept), or one
    refund — each decided once.
    """

    OPEN = "open"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


OPEN_PAYMENT_STATUSES = frozenset({PaymentStatus.OPEN})
#: May still take money at the gateway: cancel them there when they are not wanted.
UNFINISHED_PAYMENT_STATUSES = frozenset({PaymentStatus.OPEN, PaymentStatus.FAILED})
#: May still become ``succeeded`` when the gateway says the money arrived.
SETTLEABLE_PAYMENT_STATUSES = frozenset(
    {PaymentStatus.OPEN, PaymentStatus.FAILED, PaymentStatus.CANCELLED}
)


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
    """Why money goes back. A payment is refunded at most once, whatever the reason.

    * ``hold_lost``: paid after the hold ended, and its tickets were gone;
    * ``duplicate_payment``: the booking's order was paid by another payment;
    * ``customer_cancelled``: the buyer cancelled the order;
    * ``event_cancelled``: the organizer cancelled the event (the order, or a payment that
      arrived after the cancellation);
    * ``organizer_cancelled``: the organizer cancelled one order (back office).
    """

    HOLD_LOST = "hold_lost"
    DUPLICATE_PAYMENT = "duplicate_payment"
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
