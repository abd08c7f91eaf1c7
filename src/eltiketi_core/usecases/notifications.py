"""Telling buyers (seed steps 15–16): every message is a record before it is sent.

A record is unique per (subject key, channel), so a duplicate ``OrderCreated``
never queues a second e-mail. Whoever creates or claims a record holds it by a
short lease (``Policy.notification_lease``) that it renews while it sends (see
:mod:`~eltiketi_core.usecases.notification_lease`); failures are retried with
exponential backoff by :meth:`Notifications.retry_due` (the retry loop calls it),
which also picks up the messages of a sender that died, once its lease has run out.

At least once, recognisably: a crash between the provider accepting a message and
``sent`` being recorded sends it again. The copy carries the same
:func:`message_key`, from which the e-mail ``Message-ID`` and the SMS provider's
idempotency key are derived, so mail systems and providers can fold it. A resend
the buyer asks for is a new message (the record's next ``generation``), with a new
key.

Messages that are not the tickets themselves (payment problems, refunds) are
capped per booking and channel (``Policy.payment_problem_notices_per_booking``,
``Policy.refund_notices_per_booking``): whoever chose the booking's contact cannot
make us send an address a message per declined payment.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import msgspec

from eltiketi_core.domain.booking import Contact
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.order import OrderStatus
from eltiketi_core.domain.organization import InvitationStatus
from eltiketi_core.errors import Conflict, RateLimited, ValidationFailed
from eltiketi_core.ports.notifications import (
    InvitationNotice,
    Notifier,
    PaymentProblemNotice,
    RefundNotice,
    TicketsNotice,
)
from eltiketi_core.ports.stores import NotificationRecord, NotificationStatus
from eltiketi_core.ports.uow import UnitOfWork
from eltiketi_core.usecases.access import event_order, managed_event, owned
from eltiketi_core.usecases.core_ports import CorePorts, UseCase
from eltiketi_core.usecases.notification_lease import LeaseKeeper, LeaseLost
from eltiketi_core.usecases.policy import Policy

log = logging.getLogger(__name__)

Notice = TicketsNotice | RefundNotice | PaymentProblemNotice | InvitationNotice


def tickets_key(order_id: UUID) -> str:
    return f"tickets:{order_id}"


def refund_key(refund_id: UUID) -> str:
    return f"refund:{refund_id}"


def payment_problem_key(payment_id: UUID) -> str:
    return f"payment_problem:{payment_id}"


def invitation_key(invitation_id: UUID) -> str:
    return f"invitation:{invitation_id}"


def message_key(record: NotificationRecord) -> str:
    """The identity of one message on one channel: ``tickets:{order}/email``, and
    ``tickets:{order}/email/2`` for the buyer's second resend. Every retry of the same
    message has the same key."""
    base = f"{record.key}/{record.channel}"
    return base if record.generation == 0 else f"{base}/{record.generation}"


class Message(msgspec.Struct, frozen=True, kw_only=True):
    """A message rebuilt from its key: who gets it, what it says, which booking it is about."""

    contact: Contact
    notice: Notice
    booking_id: UUID | None


#: (channel's notifier, the record it holds, what to send)
_Work = tuple[Notifier, NotificationRecord, Notice]
#: Sends of one claim in flight at once: a slow mail server must not make a batch of
#: retries (say, after an outage) take one round trip per message.
SEND_CONCURRENCY = 8


class Notifications(UseCase):
    def __init__(self, ports: CorePorts, notifiers: Sequence[Notifier], policy: Policy) -> None:
        super().__init__(ports)
        self._notifiers = {n.channel: n for n in sorted(notifiers, key=lambda n: n.channel)}
        self._policy = policy

    async def deliver(self, key: str) -> int:
        """Queue and send the message ``key`` names on every channel the contact has.

        Returns how many channels this call sent on (0 if already queued elsewhere).
        """
        claimed_at = asyncio.get_running_loop().time()
        now = self._clock.now()
        lease = self._ids.new_id()
        work: list[_Work] = []
        async with self._uow() as uow:
            message = await build_message(uow, key)
            if message is None:
                return 0
            for notifier in self._notifiers.values():
                if not notifier.accepts(message.contact):
                    continue
                record = self._new_record(key, notifier.channel, message.contact, now, lease)
                if not await uow.notifications.add(record):
                    continue
                if await self._within_limit(uow, record, message):
                    work.append((notifier, record, message.notice))
                else:
                    await self._suppress(uow, record, lease)
            await uow.commit()
        return await self._send_all(lease, work, claimed_at)

    async def retry_due(self, *, limit: int = 50) -> int:
        """Send again what failed (or was orphaned by a crash) once its time has come."""
        claimed_at = asyncio.get_running_loop().time()
        now = self._clock.now()
        lease = self._ids.new_id()
        async with self._uow() as uow:
            claimed = await uow.notifications.claim_due(
                now, lease=lease, until=now + self._policy.notification_lease, limit=limit
            )
            await uow.commit()
        work: list[_Work] = []
        messages: dict[str, Message | None] = {}
        for record in claimed:
            if record.key not in messages:
                async with self._uow() as uow:
                    messages[record.key] = await build_message(uow, record.key)
            message = messages[record.key]
            notifier = self._notifiers.get(record.channel)
            if message is None or notifier is None:
                why = "nothing to send any more" if message is None else "no such channel here"
                await self._give_up(record, lease, why)
                continue
            work.append((notifier, record, message.notice))
        return await self._send_all(lease, work, claimed_at)

    async def resend_tickets(
        self, principal: Principal, order_id: UUID, *, event_id: UUID | None = None
    ) -> int:
        """The owner asks for the e-tickets again — or, with ``event_id``, an organizer
        managing that event does for the buyer; at most once per ``resend_interval``.

        The resend slot of each channel is claimed with one conditional write before
        anything is sent, so of many concurrent requests exactly one sends; the others
        are answered :class:`RateLimited`. A resend is a new message (a new
        ``Message-ID``), since the buyer asked for it again.
        """
        claimed_at = asyncio.get_running_loop().time()
        now = self._clock.now()
        key = tickets_key(order_id)
        lease = self._ids.new_id()
        until = now + self._policy.notification_lease
        work: list[_Work] = []
        waits: list[float] = []
        async with self._uow() as uow:
            found = await uow.orders.get(order_id)
            if event_id is None:
                order = owned(found, found.buyer if found else None, principal, "order")
            else:
                event = await managed_event(uow, principal, event_id)
                order = event_order(found, event)
            if order.status is not OrderStatus.CONFIRMED:
                raise Conflict("order_not_confirmed", "only confirmed orders have tickets to send")
            message = await build_message(uow, key)
            if message is None:
                return 0
            targets = [n for n in self._notifiers.values() if n.accepts(message.contact)]
            if not targets:
                raise ValidationFailed("no_contact", "the order has no email or phone to send to")
            for notifier in targets:  # in channel order, so concurrent requests lock alike
                record = await uow.notifications.claim_resend(
                    key,
                    notifier.channel,
                    now=now,
                    quiet_since=now - self._policy.resend_interval,
                    lease=lease,
                    until=until,
                )
                if record is None:
                    fresh = self._new_record(key, notifier.channel, message.contact, now, lease)
                    if await uow.notifications.add(fresh):
                        record = fresh
                if record is None:
                    existing = await uow.notifications.get(key, notifier.channel)
                    waits.append(self._resend_wait(existing, now))
                    continue
                work.append((notifier, record, message.notice))
            await uow.commit()
        if not work:
            raise RateLimited(
                "resend_rate_limited",
                "the tickets were sent a moment ago; try again shortly",
                retry_after=max(1, math.ceil(min(waits, default=1.0))),
            )
        return await self._send_all(lease, work, claimed_at)

    # -- internals -------------------------------------------------------------------------

    def _new_record(
        self, key: str, channel: str, contact: Contact, now: datetime, lease: UUID
    ) -> NotificationRecord:
        return NotificationRecord(
            id=self._ids.new_id(),
            key=key,
            channel=channel,
            kind=key.split(":", 1)[0],
            recipient=_recipient(contact, channel),
            status=NotificationStatus.QUEUED,
            attempts=0,
            created_at=now,
            requested_at=now,
            lease=lease,
            next_attempt_at=now + self._policy.notification_lease,
        )

    def _resend_wait(self, record: NotificationRecord | None, now: datetime) -> float:
        """Seconds until a resend of ``record`` can be claimed."""
        if record is None:
            return 1.0
        if record.lease is not None and record.next_attempt_at and record.next_attempt_at > now:
            return (record.next_attempt_at - now).total_seconds()
        last = max(record.requested_at or record.created_at, record.sent_at or record.created_at)
        return (last + self._policy.resend_interval - now).total_seconds()

    async def _within_limit(
        self, uow: UnitOfWork, record: NotificationRecord, message: Message
    ) -> bool:
        limits = {
            "payment_problem": self._policy.payment_problem_notices_per_booking,
            "refund": self._policy.refund_notices_per_booking,
        }
        limit = limits.get(record.kind)
        if limit is None or message.booking_id is None:
            return True
        scope = f"booking:{message.booking_id}:{record.kind}"
        return await uow.notifications.take_quota(scope, record.channel, limit)

    async def _suppress(self, uow: UnitOfWork, record: NotificationRecord, lease: UUID) -> None:
        log.info(
            "notification suppressed: per-booking limit reached",
            extra={"key": record.key, "channel": record.channel},
        )
        await uow.notifications.finish(
            msgspec.structs.replace(
                record,
                status=NotificationStatus.SUPPRESSED,
                lease=None,
                next_attempt_at=None,
                error=f"limit of {record.kind} messages per booking reached",
            ),
            lease=lease,
        )

    async def _send_all(self, lease: UUID, work: list[_Work], claimed_at: float) -> int:
        """Send the claimed messages (:data:`SEND_CONCURRENCY` at a time) while a keeper
        renews their common lease; if the lease is lost, what is not sent yet stays for
        the next holder."""
        if not work:
            return 0
        keeper = LeaseKeeper(
            self._uow, self._clock, lease, self._policy.notification_lease, claimed_at=claimed_at
        )
        slots = asyncio.Semaphore(SEND_CONCURRENCY)

        async def one(notifier: Notifier, record: NotificationRecord, notice: Notice) -> int:
            async with slots:
                try:
                    return await keeper.guard(self._send(notifier, record, notice, lease))
                except LeaseLost:
                    log.warning(
                        "notification not sent: lease lost",
                        extra={"key": record.key, "channel": record.channel},
                    )
                    return 0

        async with keeper:
            sent = await asyncio.gather(*(one(*item) for item in work))
        return sum(sent)

    async def _send(
        self, notifier: Notifier, record: NotificationRecord, notice: Notice, lease: UUID
    ) -> int:
        notice = msgspec.structs.replace(notice, message_key=message_key(record))
        try:
            if isinstance(notice, TicketsNotice):
                await notifier.send_tickets(notice)
            elif isinstance(notice, RefundNotice):
                await notifier.send_refund(notice)
            elif isinstance(notice, InvitationNotice):
                await notifier.send_invitation(notice)
            else:
                await notifier.send_payment_problem(notice)
        except Exception as exc:
            await self._record_failure(record, lease, exc)
            return 0
        now = self._clock.now()
        recorded = await self._finish(
            msgspec.structs.replace(
                record,
                status=NotificationStatus.SENT,
                attempts=record.attempts + 1,
                sent_at=now,
                next_attempt_at=None,
                error=None,
                lease=None,
            ),
            lease,
        )
        log.info(
            "notification sent",
            extra={
                "key": record.key,
                "channel": record.channel,
                "attempt": record.attempts + 1,
                "message_key": notice.message_key,
                "recorded": recorded,
            },
        )
        return 1

    async def _record_failure(
        self, record: NotificationRecord, lease: UUID, exc: Exception
    ) -> None:
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
        await self._finish(
            msgspec.structs.replace(
                record,
                status=NotificationStatus.FAILED,
                attempts=attempts,
                error=f"{type(exc).__name__}: {exc}"[:500],
                next_attempt_at=None if give_up else now + backoff,
                lease=None,
            ),
            lease,
        )

    async def _give_up(self, record: NotificationRecord, lease: UUID, why: str) -> None:
        log.warning(
            "notification given up",
            extra={"key": record.key, "channel": record.channel, "why": why},
        )
        await self._finish(
            msgspec.structs.replace(
                record,
                status=NotificationStatus.FAILED,
                error=why,
                next_attempt_at=None,
                lease=None,
            ),
            lease,
        )

    async def _finish(self, record: NotificationRecord, lease: UUID) -> bool:
        async with self._uow() as uow:
            done = await uow.notifications.finish(record, lease=lease)
            await uow.commit()
        if not done:
            log.warning(
                "notification outcome not recorded: another sender holds it",
                extra={"key": record.key, "channel": record.channel},
            )
        return done


def _recipient(contact: Contact, channel: str) -> str:
    return (contact.phone if channel == "sms" else contact.email) or ""


async def build_message(uow: UnitOfWork, key: str) -> Message | None:
    """Rebuild a message from its key, so retries always show current data."""
    kind, _, raw_id = key.partition(":")
    try:
        subject_id = UUID(raw_id)
    except ValueError:
        return None
    if kind == "tickets":
        return await _tickets_message(uow, subject_id)
    if kind == "refund":
        return await _refund_message(uow, subject_id)
    if kind == "payment_problem":
        return await _payment_problem_message(uow, subject_id)
    if kind == "invitation":
        return await _invitation_message(uow, subject_id)
    return None


async def _invitation_message(uow: UnitOfWork, invitation_id: UUID) -> Message | None:
    """Only a pending invitation is (re)sent: a revoked or accepted one has nothing to say."""
    invitation = await uow.invitations.get(invitation_id)
    if invitation is None or invitation.status is not InvitationStatus.PENDING:
        return None
    organization = await uow.organizations.get(invitation.organization_id)
    if organization is None:
        return None
    inviter = await uow.organizations.member(invitation.organization_id, invitation.invited_by)
    contact = Contact(email=invitation.email)
    notice = InvitationNotice(
        contact=contact,
        invitation_id=invitation.id,
        organization_name=organization.name,
        role=invitation.role.value,
        invited_by=(inviter.email if inviter and inviter.email else invitation.invited_by),
        expires_at=invitation.expires_at,
    )
    return Message(contact=contact, notice=notice, booking_id=None)


async def _tickets_message(uow: UnitOfWork, order_id: UUID) -> Message | None:
    order = await uow.orders.get(order_id)
    if order is None:
        return None
    event = await uow.catalog.get_event(order.event_id)
    if event is None:
        return None
    types = {str(t.id): t for t in await uow.catalog.ticket_types(event.id)}
    tickets = tuple(await uow.tickets.for_order(order.id))
    booking = await uow.bookings.get(order.booking_id)
    notice = TicketsNotice(
        order=order,
        event=event,
        ticket_types=types,
        tickets=tickets,
        contact=order.contact,
        locale=booking.locale if booking is not None else None,
    )
    return Message(contact=order.contact, notice=notice, booking_id=order.booking_id)


async def _refund_message(uow: UnitOfWork, refund_id: UUID) -> Message | None:
    refund = await uow.refunds.get(refund_id)
    if refund is None:
        return None
    booking = await uow.bookings.get(refund.booking_id)
    contact = booking.contact if booking else Contact()
    event = await uow.catalog.get_event(booking.event_id) if booking else None
    order = await uow.orders.get(refund.order_id) if refund.order_id else None
    notice = RefundNotice(
        contact=contact,
        buyer=refund.buyer,
        amount=refund.amount,
        reason=refund.reason.value,
        order_id=str(refund.order_id) if refund.order_id else None,
        order_reference=order.reference if order else None,
        event_name=event.name if event else None,
    )
    return Message(contact=contact, notice=notice, booking_id=refund.booking_id)


async def _payment_problem_message(uow: UnitOfWork, payment_id: UUID) -> Message | None:
    payment = await uow.payments.get(payment_id)
    booking = await uow.bookings.get(payment.booking_id) if payment else None
    if payment is None or booking is None:
        return None
    event = await uow.catalog.get_event(booking.event_id)
    notice = PaymentProblemNotice(
        contact=booking.contact,
        buyer=booking.buyer,
        booking_id=str(booking.id),
        reason="the payment did not go through",
        event_name=event.name if event else None,
    )
    return Message(contact=booking.contact, notice=notice, booking_id=booking.id)
