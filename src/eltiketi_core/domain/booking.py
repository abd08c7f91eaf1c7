"""A booking is a hold: tickets set aside for one buyer until ``expires_at``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

import msgspec

from eltiketi_core.domain.money import Money


class BookingStatus(StrEnum):
    """``held`` is the only state that owns stock; the others are final.

    Confirmation, expiry and cancellation all leave ``held`` through one
    conditional change, so exactly one of them wins a race.
    """

    HELD = "held"
    CONFIRMED = "confirmed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class Contact(msgspec.Struct, frozen=True, kw_only=True):
    """Where e-tickets go. Taken from the token's claims unless the request gives one."""

    email: str | None = None
    phone: str | None = None


class BookingItem(msgspec.Struct, frozen=True, kw_only=True):
    ticket_type_id: UUID
    quantity: int
    unit_price: Money

    @property
    def subtotal(self) -> Money:
        return self.unit_price * self.quantity


class Booking(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    event_id: UUID
    buyer: str
    contact: Contact
    items: tuple[BookingItem, ...]
    total: Money
    status: BookingStatus
    created_at: datetime
    expires_at: datetime
    #: One name per ticket, in item order (empty: not named yet); copied to the tickets
    #: when the order is made, so the door sees who each ticket is for.
    holders: tuple[str, ...] = ()
    #: The language the buyer used in the shop (a BCP 47 tag such as ``nl`` or ``en-GB``);
    #: e-tickets are written in it, else in the event's language. None: not known.
    locale: str | None = None

    @property
    def quantity(self) -> int:
        return sum(item.quantity for item in self.items)

    def is_expired_at(self, now: datetime) -> bool:
        return self.status is BookingStatus.HELD and now >= self.expires_at

    def with_status(self, status: BookingStatus) -> Booking:
        return msgspec.structs.replace(self, status=status)
