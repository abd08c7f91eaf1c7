"""Orders, the tickets they issue, and check-ins at the door."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Final
from uuid import UUID

import msgspec

from eltiketi_core.domain.booking import Booking, BookingItem, Contact
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


#: Crockford's base32 alphabet: digits and letters without I, L, O and U, so a reference
#: read out on the phone or typed from paper has no look-alike characters.
_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_LOOK_ALIKES: Final = str.maketrans({"O": "0", "I": "1", "L": "1"})
#: Characters of an order reference: 40 bits, five per character.
REFERENCE_LENGTH: Final = 8


def order_reference(order_id: UUID) -> str:
    """The order number a buyer reads (``7K3M9QXA``): the id's last 40 bits in Crockford base32.

    Those bits are the random part of a time-ordered id (UUIDv7's ``rand_b``; all of a
    UUIDv4 is random), never its timestamp, so two orders made seconds apart get unrelated
    references. Forty bits keep it short; uniqueness is not left to chance: the order
    store refuses a taken reference (``orders.reference`` is unique) and the settlement
    then issues the order under a fresh id, hence a fresh reference.
    """
    value = order_id.int & ((1 << (5 * REFERENCE_LENGTH)) - 1)
    return "".join(
        _CROCKFORD[(value >> shift) & 31] for shift in range(5 * (REFERENCE_LENGTH - 1), -1, -5)
    )


def normalise_reference(text: str) -> str | None:
    """A reference as a person typed it (``7k3m-9qxa``, ``7K3M 9QXA``, ``O`` for ``0``) in
    its stored form, or None if it cannot be one."""
    cleaned = "".join(text.split()).replace("-", "").upper().translate(_LOOK_ALIKES)
    if len(cleaned) != REFERENCE_LENGTH or any(c not in _CROCKFORD for c in cleaned):
        return None
    return cleaned


class Order(msgspec.Struct, frozen=True, kw_only=True):
    """A confirmed purchase. ``reference`` is the short, unique order number shown to the
    buyer (in e-mails, SMS and the API); left empty, it is derived from ``id``
    (:func:`order_reference`). ``payment_id`` is the payment the order keeps; None for a
    free booking (total zero), which is confirmed without a payment step."""

    id: UUID
    booking_id: UUID
    payment_id: UUID | None
    event_id: UUID
    buyer: str
    contact: Contact
    items: tuple[BookingItem, ...]
    total: Money
    status: OrderStatus
    stock: StockState
    created_at: datetime
    reference: str = ""

    def __post_init__(self) -> None:
        if not self.reference:
            msgspec.structs.force_setattr(self, "reference", order_reference(self.id))

    @classmethod
    def confirming(
        cls, booking: Booking, *, order_id: UUID, payment_id: UUID | None, created_at: datetime
    ) -> Order:
        """The order a paid (or free) booking becomes: its buyer, contact, items and total,
        confirmed, its stock still counted as held until the inventory handler sells it."""
        return cls(
            id=order_id,
            booking_id=booking.id,
            payment_id=payment_id,
            event_id=booking.event_id,
            buyer=booking.buyer,
            contact=booking.contact,
            items=booking.items,
            total=booking.total,
            status=OrderStatus.CONFIRMED,
            stock=StockState.HELD,
            created_at=created_at,
        )


class TicketStatus(StrEnum):
    VALID = "valid"
    VOID = "void"


class Ticket(msgspec.Struct, frozen=True, kw_only=True):
    """One admission. ``token`` is the signed, offline-verifiable QR payload.

    ``holder`` is the buyer's subject (who owns the ticket: access checks use it);
    ``holder_name`` is the person the ticket is for, as the buyer named them (shown on
    the ticket, in the e-mail and at the door), None when the buyer gave no name.
    """

    id: UUID
    order_id: UUID
    event_id: UUID
    ticket_type_id: UUID
    holder: str
    status: TicketStatus
    token: str
    version: int
    created_at: datetime
    holder_name: str | None = None


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
