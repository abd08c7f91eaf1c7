"""An organizer cancels an event: every hold released, every order refunded once.

The request only decides: one transaction marks the event cancelled (so a
payment still in flight is refunded by settlement instead of confirmed, and no
new hold is taken) and records an ``event_cancellation`` job. The work itself
runs in the background (:class:`~eltiketi_core.usecases.jobs.Jobs`), one batch
per transaction: first the holds, then the confirmed orders in keyset order of
their ids, however many there are. Every step is idempotent — a hold is ended
by a compare-and-set on ``held``, an order refunded by one on ``confirmed``, and
a payment is refunded at most once — so a batch repeated after a crash
changes nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from eltiketi_core.domain.booking import BookingStatus
from eltiketi_core.domain.catalog import Event, EventStatus
from eltiketi_core.domain.events import EventCancelled
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.job import Job, JobKind, JobStatus
from eltiketi_core.domain.order import OrderStatus
from eltiketi_core.domain.payment import RefundReason
from eltiketi_core.ports.uow import UnitOfWork
from eltiketi_core.usecases.access import managed_event
from eltiketi_core.usecases.core_ports import CorePorts, UseCase
from eltiketi_core.usecases.holds import end_hold
from eltiketi_core.usecases.policy import Policy
from eltiketi_core.usecases.refunds import refund_order

KIND = JobKind.EVENT_CANCELLATION


class EventCancellation(UseCase):
    def __init__(self, ports: CorePorts, policy: Policy) -> None:
        super().__init__(ports)
        self._policy = policy

    async def cancel(self, principal: Principal, event_id: UUID) -> Job:
        """Mark the event cancelled and return its cancellation job (queued on the first call).

        Idempotent: cancelling again returns the same job; a job that ``failed``
        is queued again.
        """
        now = self._clock.now()
        async with self._uow() as uow:
            event = await managed_event(uow, principal, event_id)
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
            job = await self._job_for(uow, event, principal, now)
            await uow.commit()
        return job

    async def _job_for(
        self, uow: UnitOfWork, event: Event, principal: Principal, now: datetime
    ) -> Job:
        job = await uow.jobs.for_event(event.id, KIND)
        if job is None:
            # Counted after the status change: a settlement that opened this sale
            # before has committed its order by now (set_event_status waited for it).
            confirmed = await uow.orders.count_for_event(event.id, status=OrderStatus.CONFIRMED)
            new = Job(
                id=self._ids.new_id(),
                kind=KIND,
                event_id=event.id,
                requested_by=principal.subject,
                status=JobStatus.QUEUED,
                created_at=now,
                orders_remaining=confirmed,
            )
            if await uow.jobs.add(new):
                return new
            job = await uow.jobs.for_event(event.id, KIND)  # a concurrent cancel was first
            if job is None:  # pragma: no cover - a job row is never deleted
                raise RuntimeError(f"the cancellation job of event {event.id} vanished")
        if job.status is JobStatus.FAILED:
            again = msgspec.structs.replace(
                job, status=JobStatus.QUEUED, failures=0, last_error=None, finished_at=None
            )
            if await uow.jobs.update(again, owner=None):
                return again
        return job

    async def step(self, uow: UnitOfWork, job: Job, now: datetime) -> Job:
        """One batch: up to ``job_batch_size`` holds released, else orders refunded."""
        size = self._policy.job_batch_size
        holds = await uow.bookings.held_for_event(job.event_id, limit=size)
        if holds:
            released = 0
            for booking in holds:
                released += await end_hold(uow, booking, BookingStatus.CANCELLED, self._ids, now)
            return msgspec.structs.replace(job, holds_released=job.holds_released + released)
        orders = await uow.orders.page_for_event(
            job.event_id, status=OrderStatus.CONFIRMED, after=job.cursor, limit=size
        )
        refunded = 0
        for order in orders:
            refunded += await refund_order(uow, self._ids, now, order, RefundReason.EVENT_CANCELLED)
        progress = msgspec.structs.replace(
            job,
            orders_refunded=job.orders_refunded + refunded,
            cursor=orders[-1].id if orders else job.cursor,
            orders_remaining=max(0, job.orders_remaining - len(orders)),
        )
        if len(orders) == size:
            return progress
        # The end of the walk. An order confirmed behind the cursor after the job was
        # counted (none should be: the event was cancelled first) is walked again.
        left = await uow.orders.count_for_event(job.event_id, status=OrderStatus.CONFIRMED)
        if left:
            return msgspec.structs.replace(progress, cursor=None, orders_remaining=left)
        return msgspec.structs.replace(
            progress, status=JobStatus.DONE, finished_at=now, orders_remaining=0
        )
