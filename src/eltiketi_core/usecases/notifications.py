"""Telling buyers (seed steps 15–16): every message is a record before it is sent.

A record is unique per (subject key, channel), so a duplicate ``OrderCreated``
never queues a second e-mail. The sender that created the record sends it;
failures are retried with exponential backoff by :meth:`Notifications.retry_due`
(the sweeper calls it). A crash between sending and recording ``sent`` can send
a message twice; nothing else can.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from uuid import UUID

import msgspec

from eltiketi_core.domain.booking import Contact
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.order import OrderStatus
from eltiketi_core.errors import Conflict, RateLimited, ValidationFailed
from eltiketi_core.ports.clock import Clock, IdGenerator
from eltiketi_core.ports.notifications import (
    Notifier,
    PaymentProblemNotice,
    RefundNotice,
    TicketsNotice,
)
from eltiketi_core.ports.stores import NotificationRecord, NotificationStatus
from eltiketi_core.ports.uow import UnitOfWork, UnitOfWorkFactory
from eltiketi_core.usecases.access import owned
from eltiketi_core.usecases.policy import Policy

log = logging.getLogger(__name__)

Notice = TicketsNotice | RefundNotice | PaymentProblemNotice


def tickets_key(order_id: UUID) -> str:
    return f"tickets:{order_id}"


def refund_key(refund_id: UUID) -> str:
    return f"refund:{refund_id}"


def payment_problem_key(payment_id: UUID) -> str:
    return f"payment_problem:{payment_id}"


class Notifications:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        notifiers: Sequence[Notifier],
        policy: Policy,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._notifiers = {n.channel: n for n in notifiers}
        self._policy = policy

    async def deliver(self, key: str) -> int:
        """Queue and send the message ``key`` names on every channel the contact has.

        Returns how many channels this call sent on (0 if already queued elsewhere).
        """
        now = self._clock.now()
        mine: list[tuple[Notifier, NotificationRecord]] = []
        async with self._uow() as uow:
            built = await _build(uow, key)
            if built is None:
                return 0
            contact, notice = built
            for notifier in self._notifiers.values():
                if not notifier.accepts(contact):
                    continue
                record = NotificationRecord(
                    id=self._ids.new_id(),
                    key=key,
                    channel=notifier.channel,
                    kind=key.split(":", 1)[0],
                    recipient=_recipient(contact, notifier.channel),
                    status=NotificationStatus.QUEUED,
                    attempts=0,
                    created_at=now,
                    next_attempt_at=now + self._policy.notification_lease,
                )
                if await uow.notifications.add(record):
                    mine.append((notifier, record))
            await uow.commit()
        sent = 0
        for notifier, record in mine:
            sent += await self._send(notifier, record, notice)
        return sent

    async def retry_due(self, *, limit: int = 50) -> int:
        """Send again what failed (or was orphaned by a crash) once its time has come."""
        now = self._clock.now()
        async with self._uow() as uow:
            due = await uow.notifications.due(now, limit=limit)
            leased = [
                msgspec.structs.replace(r, next_attempt_at=now + self._policy.notification_lease)
                for r in due
            ]
            for record in leased:
                await uow.notifications.update(record)
            await uow.commit()
        sent = 0
        for record in leased:
            notifier = self._notifiers.get(record.channel)
            if notifier is None:
                continue
            async with self._uow() as uow:
                built = await _build(uow, record.key)
            if built is not None:
                sent += await self._send(notifier, record, built[1])
        return sent

    async def resend_tickets(self, principal: Principal, order_id: UUID) -> int:
        """The owner asks for the e-tickets again; at most once per ``resend_interval``."""
        now = self._clock.now()
        key = tickets_key(order_id)
        async with self._uow() as uow:
            found = await uow.orders.get(order_id)
            order = owned(found, found.buyer if found else None, principal, "order")
            if order.status is not OrderStatus.CONFIRMED:
                raise Conflict("order_not_confirmed", "only confirmed orders have tickets to send")
            built = await _build(uow, key)
            records = {}
            for channel in self._notifiers:
                record = await uow.notifications.get(key, channel)
                if record is not None:
                    records[channel] = record
        for record in records.values():
            last = record.sent_at or record.created_at
            if now - last < self._policy.resend_interval:
                retry_after = (last + self._policy.resend_interval - now).total_seconds()
                raise RateLimited(
                    "resend_rate_limited",
                    "the tickets were sent a moment ago; try again shortly",
                    retry_after=max(1, int(retry_after)),
                )
        if built is None:
            return 0
        contact, notice = built
        targets = [n for n in self._notifiers.values() if n.accepts(contact)]
        if not targets:
            raise ValidationFailed("no_contact", "the order has no email or phone to send to")
        sent = 0
        for notifier in targets:
            record = records.get(notifier.channel) or NotificationRecord(
                id=self._ids.new_id(),
                key=key,
                channel=notifier.channel,
                kind="tickets",
                recipient=_recipient(contact, notifier.channel),
                status=NotificationStatus.QUEUED,
                attempts=0,
                created_at=now,
            )
            if notifier.channel not in records:
                async with self._uow() as uow:
                    if not await uow.notifications.add(record):
                        continue
                    await uow.commit()
            sent += await self._send(notifier, record, notice)
        return sent

    async def _send(self, notifier: Notifier, record: NotificationRecord, notice: Notice) -> int:
        try:
            if isinstance(notice, TicketsNotice):
                await notifier.send_tickets(notice)
            elif isinstance(notice, RefundNotice):
                await notifier.send_refund(notice)
            else:
                await notifier.send_payment_problem(notice)
        except Exception as exc:
            await self._record_failure(record, exc)
            return 0
        now = self._clock.now()
        await self._save(
            msgspec.structs.replace(
                record,
                status=NotificationStatus.SENT,
                attempts=record.attempts + 1,
                sent_at=now,
                next_attempt_at=None,
                error=None,
            )
        )
        log.info(
            "notification sent",
            extra={"key": record.key, "channel": record.channel, "attempt": record.attempts + 1},
        )
        return 1

    async def _record_failure(self, record: NotificationRecord, exc: Exception) -> None:
        now = self._clock.now()
        attempts = record.attempts + 1
        give_up = attempts >= self._policy.notification_max_attempts
        backoff = self._policy.notification_backoff * (2 ** (attempts - 1))
        log.warning(
            "notification failed",
            extra={
                "key": record.key,
                "channel": record.channel,
                "attempt": attempts,
                "final": give_up,
                "error": str(exc),
            },
        )
        await self._save(
            msgspec.structs.replace(
                record,
                status=NotificationStatus.FAILED,
                attempts=attempts,
                error=f"{type(exc).__name__}: {exc}"[:500],
                next_attempt_at=None if give_up else now + backoff,
            )
        )

    async def _save(self, record: NotificationRecord) -> None:
        async with self._uow() as uow:
            await uow.notifications.update(record)
            await uow.commit()


def _recipient(contact: Contact, channel: str) -> str:
    return (contact.phone if channel == "sms" else contact.email) or ""


async def _build(uow: UnitOfWork, key: str) -> tuple[Contact, Notice] | None:
    """Rebuild a message from its key, so retries always show current data."""
    kind, _, raw_id = key.partition(":")
    try:
        subject_id = UUID(raw_id)
    except ValueError:
        return None
    if kind == "tickets":
        return await _tickets_notice(uow, subject_id)
    if kind == "refund":
        refund = await uow.refunds.get(subject_id)
        if refund is None:
            return None
        booking = await uow.bookings.get(refund.booking_id)
        contact = booking.contact if booking else Contact()
        event = await uow.catalog.get_event(booking.event_id) if booking else None
        return contact, RefundNotice(
            contact=contact,
            buyer=refund.buyer,
            amount=refund.amount,
            reason=refund.reason.value,
            order_id=str(refund.order_id) if refund.order_id else None,
            event_name=event.name if event else None,
        )
    if kind == "payment_problem":
        payment = await uow.payments.get(subject_id)
        booking = await uow.bookings.get(payment.booking_id) if payment else None
        if payment is None or booking is None:
            return None
        event = await uow.catalog.get_event(booking.event_id)
        return booking.contact, PaymentProblemNotice(
            contact=booking.contact,
            buyer=booking.buyer,
            booking_id=str(booking.id),
            reason="the payment did not go through",
            event_name=event.name if event else None,
        )
    return None


async def _tickets_notice(uow: UnitOfWork, order_id: UUID) -> tuple[Contact, Notice] | None:
    order = await uow.orders.get(order_id)
    if order is None:
        return None
    event = await uow.catalog.get_event(order.event_id)
    if event is None:
        return None
    types = {str(t.id): t for t in await uow.catalog.ticket_types(event.id)}
    tickets = tuple(await uow.tickets.for_order(order.id))
    return order.contact, TicketsNotice(
        order=order, event=event, ticket_types=types, tickets=tickets, contact=order.contact
    )
