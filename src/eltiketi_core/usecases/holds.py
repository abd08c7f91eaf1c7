"""Taking stock for a hold, and ending a hold: the one place that gives held stock back.

Every path out of ``held`` other than confirmation (buyer release, expiry,
event cancellation) goes through :func:`end_hold`, so the status change and
the release always happen together, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
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


async def reserve_all(
    uow: UnitOfWork,
    booking_id: UUID,
    items: Iterable[Quantity],
    *,
    on_shortage: Callable[[UUID], Awaitable[bool]] | None = None,
) -> UUID | None:
    """Hold every item for ``booking_id``, all or nothing, in ticket-type-id order.

    The fixed order means two bookings never wait on each other in a cycle. When a
    type is short, ``on_shortage(type_id)`` may free stock (True: try once more).
    Returns None when everything is held; otherwise undoes what it took and returns
    the short ticket type's id.
    """
    taken: list[Quantity] = []
    for item in sorted(items, key=lambda i: i.ticket_type_id):
        ok = await uow.inventory.reserve(booking_id, item.ticket_type_id, item.quantity)
        if not ok and on_shortage is not None and await on_shortage(item.ticket_type_id):
            ok = await uow.inventory.reserve(booking_id, item.ticket_type_id, item.quantity)
        if not ok:
            for done in taken:
                await uow.inventory.release(booking_id, done.ticket_type_id, done.quantity)
            return item.ticket_type_id
        taken.append(item)
    return None
