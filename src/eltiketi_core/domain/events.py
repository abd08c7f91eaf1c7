"""Domain events: facts recorded in the outbox in the same transaction as the change.

Every event of one purchase carries ``booking_id``; transports use it as the
partition key so a booking's events stay in order. Each event class also names its
**stream** (:attr:`DomainEvent.stream`): the events whose relative order matters to
one handler share a stream, and a transport that keeps order only within a channel
(a Kafka topic) gives each stream its own. Events are a tagged msgspec union:
``msgspec.json.encode(event)`` gives ``{"type": "OrderCreated", ...}`` and
:func:`decode_event` reads it back.

:data:`AnyEvent` is the one list of event classes; :data:`EVENT_TYPES` and every
transport's routing are derived from it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, get_args
from uuid import UUID

import msgspec

from eltiketi_core.domain.booking import BookingItem, Contact
from eltiketi_core.domain.money import Money


class DomainEvent(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    stream: ClassVar[str]
    """The ordering stream this event travels in. Events whose order matters to one
    handler share a stream: ``OrderRefunded`` must reach the inventory after
    ``OrderCreated``, so both are ``"orders"``. Every event class must name one (a
    class without it fails when it is defined)."""

    id: UUID
    occurred_at: datetime
    booking_id: UUID
    version: int = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not isinstance(cls.__dict__.get("stream"), str):
            raise TypeError(
                f"domain event {cls.__name__} names no ordering stream: set "
                '`stream = "..."` (the stream of the events it must stay in order with)'
            )

    @property
    def type(self) -> str:
        return type(self).__name__

    @property
    def key(self) -> str:
        """The ordering key: every event of one purchase shares it."""
        return str(self.booking_id)


class BookingCreated(DomainEvent, tag=True, frozen=True, kw_only=True):
    stream = "bookings"

    event_id: UUID
    buyer: str
    items: tuple[BookingItem, ...]
    expires_at: datetime


class BookingCancelled(DomainEvent, tag=True, frozen=True, kw_only=True):
    stream = "bookings"

    event_id: UUID
    buyer: str
    items: tuple[BookingItem, ...]


class BookingExpired(DomainEvent, tag=True, frozen=True, kw_only=True):
    stream = "bookings"

    event_id: UUID
    buyer: str
    items: tuple[BookingItem, ...]


class PaymentStarted(DomainEvent, tag=True, frozen=True, kw_only=True):
    stream = "payments"

    payment_id: UUID
    provider: str
    amount: Money


class PaymentFailed(DomainEvent, tag=True, frozen=True, kw_only=True):
    """The gateway refused the money; the hold stays until it expires."""

    stream = "payments"

    payment_id: UUID
    buyer: str
    contact: Contact
    reason: str


class OrderCreated(DomainEvent, tag=True, frozen=True, kw_only=True):
    stream = "orders"

    order_id: UUID
    event_id: UUID
    buyer: str
    contact: Contact
    items: tuple[BookingItem, ...]
    total: Money
    ticket_ids: tuple[UUID, ...]


class OrderRefunded(DomainEvent, tag=True, frozen=True, kw_only=True):
    """The order's tickets are void; the inventory handler gives the stock back."""

    stream = "orders"

    order_id: UUID
    event_id: UUID
    items: tuple[BookingItem, ...]
    reason: str


class RefundRequested(DomainEvent, tag=True, frozen=True, kw_only=True):
    """Tells the refund executor to move the money back (idempotency key ``refund:{id}``)."""

    stream = "refunds"

    refund_id: UUID
    payment_id: UUID
    order_id: UUID | None
    buyer: str
    contact: Contact
    amount: Money
    reason: str


class RefundCompleted(DomainEvent, tag=True, frozen=True, kw_only=True):
    stream = "refunds"

    refund_id: UUID
    order_id: UUID | None
    buyer: str
    contact: Contact
    amount: Money
    reason: str


class EventCancelled(DomainEvent, tag=True, frozen=True, kw_only=True):
    """Emitted once per cancelled event; ``booking_id`` is the event id (no booking)."""

    stream = "catalog"

    event_id: UUID


AnyEvent = (
    BookingCreated
    | BookingCancelled
    | BookingExpired
    | PaymentStarted
    | PaymentFailed
    | OrderCreated
    | OrderRefunded
    | RefundRequested
    | RefundCompleted
    | EventCancelled
)

#: Event type name (``"OrderCreated"``) → class, derived from :data:`AnyEvent`.
EVENT_TYPES: dict[str, type[DomainEvent]] = {cls.__name__: cls for cls in get_args(AnyEvent)}

_decoder: msgspec.json.Decoder[AnyEvent] = msgspec.json.Decoder(AnyEvent)
_encoder = msgspec.json.Encoder()


def encode_event(event: DomainEvent) -> bytes:
    return _encoder.encode(event)


def decode_event(data: bytes | str) -> DomainEvent:
    return _decoder.decode(data)
