"""Orders, the tickets they issue, and check-ins at the door."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

import msgspec

from eltiketi_core.domain.booking import BookingItem, Contact
from eltiketi_core.domain.money import Money


class OrderStatus(StrEnum):
    CONFIRMED = "confirmed"
    REFUNDED = "refunded"


class StockState(StrEnum):
    """Where the order's tickets are counted: moved only by the inventory handler.

    It makes the handler idempotent and order-tolerant: a refund seen before the
    ``OrderCreated`` it follows still leaves the counters right.
    """

    HELD = "held"
    SOLD = "sold"
    RELEASED = "released"


class Order(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    booking_id: UUID
    payment_id: UUID
    event_id: UUID
    buyer: str
    contact: Contact
    items: tuple[BookingItem, ...]
    total: Money
    status: OrderStatus
    stock: StockState
    created_at: datetime


class TicketStatus(StrEnum):
    VALID = "valid"
    VOID = "void"


class Ticket(msgspec.Struct, frozen=True, kw_only=True):
    """One admission. ``token`` is the signed, offline-verifiable QR payload."""

    id: UUID
    order_id: UUID
    event_id: UUID
    ticket_type_id: UUID
    holder: str
    status: TicketStatus
    token: str
    version: int
    created_at: datetime


class TicketClaims(msgspec.Struct, frozen=True, kw_only=True):
    """What a ticket token says. Kept small so the QR stays scannable."""

    ticket_id: UUID
    event_id: UUID
    ticket_type_id: UUID
    version: int = 1


class CheckIn(msgspec.Struct, frozen=True, kw_only=True):
    """One scan that let someone in. ``id`` tells two scans at the same instant apart."""

    id: UUID
    ticket_id: UUID
    event_id: UUID
    checked_in_at: datetime
    scanned_by: str
