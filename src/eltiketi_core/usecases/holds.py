"""Taking stock for a hold, and ending a hold: the one place that gives held stock back.

Every path out of ``held`` other than confirmation (buyer release, expiry,
event cancellation) goes through :func:`end_hold`, so the status change and
the release always happen together, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol
from uuid import UUID

from eltiketi_core.domain.booking import Booking, BookingStatus
from eltiketi_core.domain.events import BookingCancelled, BookingExpired
from eltiketi_core.ports.clock import IdGenerator
from eltiketi_core.ports.uow import UnitOfWork


async def end_hold(
    uow: UnitOfWork, booking: Booking, new_status: BookingStatus, ids: IdGenerator, now: datetime
) -> bool:
    """Move ``booking`` from held to ``new_status`` and release its stock.

    Returns False (and changes nothing) if the booking is no longer held: the
    race was won by someone else, who took care of the stock.
    """
    if not await uow.bookings.end(booking.id, new_status, at=now):
        return False
    for item in sorted(booking.items, key=lambda i: i.ticket_type_id):
        await uow.inventory.release(booking.id, item.ticket_type_id, item.quantity)
    event_cls = BookingExpired if new_status is BookingStatus.EXPIRED else BookingCancelled
    uow.record(
        event_cls(
            id=ids.new_id(),
            occurred_at=now,
            booking_id=booking.id,
            event_id=booking.event_id,
            buyer=booking.buyer,
            items=booking.items,
        )
    )
    return True


class Quantity(Protocol):
    """A quantity of one ticket type (a requested item or a booked one)."""

    @property
    def ticket_type_id(self) -> UUID: ...

    @property
    def quantity(self) -> int: ...


async def reserve_all(uow: UnitOfWork, booking_id: UUID, items: Iterable[Quantity]) -> UUID | None:
    """Hold every item for ``booking_id`` again, all or nothing, in ticket-type-id order
    (a payment that arrived after its hold expired).

    The fixed order means two bookings never wait on each other in a cycle. Returns
    None when everything is held; otherwise undoes what it took and returns the short
    ticket type's id. New holds go through :mod:`eltiketi_core.usecases.reservation`.
    """
    taken: list[Quantity] = []
    for item in sorted(items, key=lambda i: i.ticket_type_id):
        if not await uow.inventory.reserve(booking_id, item.ticket_type_id, item.quantity):
            for done in taken:
                await uow.inventory.release(booking_id, done.ticket_type_id, done.quantity)
            return item.ticket_type_id
        taken.append(item)
    return None


async def release_expired(
    uow: UnitOfWork, ticket_type_id: UUID, now: datetime, ids: IdGenerator, limit: int
) -> bool:
    """End the expired holds of one ticket type in this transaction (a reservation
    that would be refused first gives their stock back); whether any was released."""
    released = False
    for booking in await uow.bookings.claim_expired(
        now, limit=limit, ticket_type_id=ticket_type_id
    ):
        released |= await end_hold(uow, booking, BookingStatus.EXPIRED, ids, now)
    return released
