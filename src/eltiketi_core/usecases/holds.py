"""Ending a hold: the one place that gives held stock back.

Every path out of ``held`` other than confirmation (buyer release, expiry,
event cancellation) goes through :func:`end_hold`, so the status change and
the release always happen together, in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime

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
    if not await uow.bookings.transition(booking.id, BookingStatus.HELD, new_status):
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
