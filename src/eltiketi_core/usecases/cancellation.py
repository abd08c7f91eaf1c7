"""An organizer cancels an event: every order refunded once, every hold released.

The event is marked cancelled first, in its own transaction, so a payment
still in flight is refunded by settlement instead of confirmed.
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from eltiketi_core.domain.booking import BookingStatus
from eltiketi_core.domain.catalog import EventStatus
from eltiketi_core.domain.events import EventCancelled
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.order import OrderStatus
from eltiketi_core.domain.payment import RefundReason
from eltiketi_core.ports.clock import Clock, IdGenerator
from eltiketi_core.ports.uow import UnitOfWorkFactory
from eltiketi_core.usecases.access import managed_event
from eltiketi_core.usecases.holds import end_hold
from eltiketi_core.usecases.refunds import refund_order


class CancellationSummary(msgspec.Struct, frozen=True, kw_only=True):
    event_id: UUID
    orders_refunded: int
    holds_released: int


class EventCancellation:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids

    async def cancel(self, principal: Principal, event_id: UUID) -> CancellationSummary:
        """Idempotent: cancelling again refunds nothing twice (refunds are unique per reason)."""
        now = self._clock.now()
        async with self._uow() as uow:
            event = managed_event(await uow.catalog.get_event(event_id), principal)
            if event.status is not EventStatus.CANCELLED:
                await uow.catalog.set_event_status(event.id, EventStatus.CANCELLED)
                uow.record(
                    EventCancelled(
                        id=self._ids.new_id(),
                        occurred_at=now,
                        booking_id=event.id,
                        event_id=event.id,
                    )
                )
            await uow.commit()
        released = 0
        while True:
            async with self._uow() as uow:
                holds = await uow.bookings.held_for_event(event_id, limit=100)
                for booking in holds:
                    released += await end_hold(
                        uow, booking, BookingStatus.CANCELLED, self._ids, now
                    )
                await uow.commit()
            if len(holds) < 100:
                break
        refunded = 0
        async with self._uow() as uow:
            orders = await uow.orders.list_for_event(
                event_id, status=OrderStatus.CONFIRMED, limit=100_000
            )
        for order in orders:
            async with self._uow() as uow:
                refunded += await refund_order(
                    uow, self._ids, now, order, RefundReason.EVENT_CANCELLED
                )
                await uow.commit()
        return CancellationSummary(
            event_id=event_id, orders_refunded=refunded, holds_released=released
        )
