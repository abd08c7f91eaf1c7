"""In-memory implementations of every store port, over one :class:`MemoryStorage`.

They run inside :class:`~eltiketi_adapters.memory.uow.MemoryUnitOfWork`, which
serialises transactions, so each method may read and write freely. Rules the
SQL adapters enforce with constraints are enforced here by checks that raise
the same way (a counter below zero is a bug, not a business outcome).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import msgspec

from eltiketi_adapters.memory.state import MemoryStorage
from eltiketi_core.domain.booking import Booking, BookingStatus
from eltiketi_core.domain.catalog import Event, EventStatus, StockLevel, TicketType
from eltiketi_core.domain.events import DomainEvent
from eltiketi_core.domain.order import (
    CheckIn,
    Order,
    OrderStatus,
    StockState,
    Ticket,
    TicketStatus,
)
from eltiketi_core.domain.payment import Payment, PaymentStatus, Refund, RefundReason
from eltiketi_core.ports.stores import (
    IdempotencyRecord,
    NotificationRecord,
    NotificationStatus,
    OutboxEntry,
)


class InventoryInvariantError(RuntimeError):
    """A counter would break ``0 <= held, sold`` or ``held + sold <= capacity``."""


class _Store:
    def __init__(self, storage: MemoryStorage) -> None:
        self._s = storage


class MemoryCatalogStore(_Store):
    async def add_event(self, event: Event) -> None:
        self._s.events[event.id] = event

    async def get_event(self, event_id: UUID) -> Event | None:
        return self._s.events.get(event_id)

    async def set_event_status(self, event_id: UUID, status: EventStatus) -> None:
        event = self._s.events[event_id]
        self._s.events[event_id] = msgspec.structs.replace(event, status=status)

    async def list_events(
        self,
        *,
        statuses: frozenset[EventStatus] | None = None,
        owner: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Event]:
        found = [
            e
            for e in self._s.events.values()
            if (statuses is None or e.status in statuses) and (owner is None or e.owner == owner)
        ]
        found.sort(key=lambda e: (e.starts_at, e.id))
        return found[offset : offset + limit]

    async def add_ticket_type(self, ticket_type: TicketType) -> None:
        self._s.ticket_types[ticket_type.id] = ticket_type
        self._s.stock[ticket_type.id] = StockLevel(
            ticket_type_id=ticket_type.id, capacity=ticket_type.capacity
        )

    async def get_ticket_type(self, ticket_type_id: UUID) -> TicketType | None:
        return self._s.ticket_types.get(ticket_type_id)

    async def ticket_types(self, event_id: UUID) -> list[TicketType]:
        return [t for t in self._s.ticket_types.values() if t.event_id == event_id]


class MemoryInventoryStore(_Store):
    """One counter row per ticket type; per-booking allocations keep every move exact."""

    async def reserve(self, booking_id: UUID, ticket_type_id: UUID, quantity: int) -> bool:
        level = self._s.stock.get(ticket_type_id)
        if level is None or quantity < 1 or level.available < quantity:
            return False
        self._move(booking_id, ticket_type_id, held=quantity, sold=0)
        return True

    async def release(self, booking_id: UUID, ticket_type_id: UUID, quantity: int) -> None:
        self._move(booking_id, ticket_type_id, held=-quantity, sold=0)

    async def sell(self, booking_id: UUID, ticket_type_id: UUID, quantity: int) -> None:
        self._move(booking_id, ticket_type_id, held=-quantity, sold=quantity)

    async def unsell(self, booking_id: UUID, ticket_type_id: UUID, quantity: int) -> None:
        self._move(booking_id, ticket_type_id, held=0, sold=-quantity)

    async def levels(self, ticket_type_ids: Sequence[UUID]) -> dict[UUID, StockLevel]:
        return {i: self._s.stock[i] for i in ticket_type_ids if i in self._s.stock}

    def _move(self, booking_id: UUID, ticket_type_id: UUID, *, held: int, sold: int) -> None:
        key = (booking_id, ticket_type_id)
        mine_held, mine_sold = self._s.allocations.get(key, (0, 0))
        level = self._s.stock[ticket_type_id]
        new_mine = (mine_held + held, mine_sold + sold)
        new_level = msgspec.structs.replace(level, held=level.held + held, sold=level.sold + sold)
        if min(new_mine) < 0 or new_level.held < 0 or new_level.sold < 0 or new_level.available < 0:
            raise InventoryInvariantError(
                f"moving held {held:+}, sold {sold:+} for booking {booking_id} breaks the counters"
            )
        self._s.allocations[key] = new_mine
        self._s.stock[ticket_type_id] = new_level


class MemoryBookingStore(_Store):
    async def add(self, booking: Booking) -> None:
        self._s.bookings[booking.id] = booking

    async def get(self, booking_id: UUID) -> Booking | None:
        return self._s.bookings.get(booking_id)

    async def transition(
        self, booking_id: UUID, expected: BookingStatus, new: BookingStatus
    ) -> bool:
        booking = self._s.bookings.get(booking_id)
        if booking is None or booking.status is not expected:
            return False
        self._s.bookings[booking_id] = booking.with_status(new)
        return True

    async def claim_expired(
        self, now: datetime, *, limit: int, ticket_type_id: UUID | None = None
    ) -> list[Booking]:
        expired = [
            b
            for b in self._s.bookings.values()
            if b.status is BookingStatus.HELD
            and b.expires_at <= now
            and (ticket_type_id is None or any(i.ticket_type_id == ticket_type_id for i in b.items))
        ]
        expired.sort(key=lambda b: (b.expires_at, b.id))
        return expired[:limit]

    async def active_quantity(self, buyer: str, event_id: UUID, now: datetime) -> int:
        refunded = {
            o.booking_id for o in self._s.orders.values() if o.status is OrderStatus.REFUNDED
        }
        return sum(
            b.quantity
            for b in self._s.bookings.values()
            if b.buyer == buyer
            and b.event_id == event_id
            and (
                (b.status is BookingStatus.HELD and b.expires_at > now)
                or (b.status is BookingStatus.CONFIRMED and b.id not in refunded)
            )
        )

    async def held_for_event(self, event_id: UUID, *, limit: int) -> list[Booking]:
        held = [
            b
            for b in self._s.bookings.values()
            if b.event_id == event_id and b.status is BookingStatus.HELD
        ]
        return held[:limit]


class MemoryPaymentStore(_Store):
    async def add(self, payment: Payment) -> bool:
        if payment.status is PaymentStatus.OPEN and await self.open_for_booking(payment.booking_id):
            return False
        self._s.payments[payment.id] = payment
        return True

    async def get(self, payment_id: UUID) -> Payment | None:
        return self._s.payments.get(payment_id)

    async def open_for_booking(self, booking_id: UUID) -> Payment | None:
        return next(
            (
                p
                for p in self._s.payments.values()
                if p.booking_id == booking_id and p.status is PaymentStatus.OPEN
            ),
            None,
        )

    async def for_booking(self, booking_id: UUID) -> list[Payment]:
        found = [p for p in self._s.payments.values() if p.booking_id == booking_id]
        return sorted(found, key=lambda p: (p.created_at, p.id), reverse=True)

    async def by_reference(self, provider: str, reference: str) -> Payment | None:
        return next(
            (
                p
                for p in self._s.payments.values()
                if p.provider == provider and p.provider_reference == reference
            ),
            None,
        )

    async def update(self, payment: Payment) -> None:
        self._s.payments[payment.id] = payment

    async def transition(
        self, payment_id: UUID, expected: frozenset[PaymentStatus], new: PaymentStatus
    ) -> bool:
        payment = self._s.payments.get(payment_id)
        if payment is None or payment.status not in expected:
            return False
        if new is PaymentStatus.OPEN and await self.open_for_booking(payment.booking_id):
            return False
        self._s.payments[payment_id] = payment.with_status(new)
        return True


class MemoryOrderStore(_Store):
    async def add(self, order: Order) -> bool:
        for existing in self._s.orders.values():
            if existing.booking_id == order.booking_id or existing.payment_id == order.payment_id:
                return False
        self._s.orders[order.id] = order
        return True

    async def get(self, order_id: UUID) -> Order | None:
        return self._s.orders.get(order_id)

    async def for_booking(self, booking_id: UUID) -> Order | None:
        return next((o for o in self._s.orders.values() if o.booking_id == booking_id), None)

    async def list_for_buyer(self, buyer: str, *, limit: int = 50, offset: int = 0) -> list[Order]:
        found = [o for o in self._s.orders.values() if o.buyer == buyer]
        found.sort(key=lambda o: (o.created_at, o.id), reverse=True)
        return found[offset : offset + limit]

    async def list_for_event(
        self, event_id: UUID, *, status: OrderStatus | None = None, limit: int = 500
    ) -> list[Order]:
        found = [
            o
            for o in self._s.orders.values()
            if o.event_id == event_id and (status is None or o.status is status)
        ]
        return found[:limit]

    async def transition(self, order_id: UUID, expected: OrderStatus, new: OrderStatus) -> bool:
        order = self._s.orders.get(order_id)
        if order is None or order.status is not expected:
            return False
        self._s.orders[order_id] = msgspec.structs.replace(order, status=new)
        return True

    async def move_stock(self, order_id: UUID, expected: StockState, new: StockState) -> bool:
        order = self._s.orders.get(order_id)
        if order is None or order.stock is not expected:
            return False
        self._s.orders[order_id] = msgspec.structs.replace(order, stock=new)
        return True


class MemoryTicketStore(_Store):
    async def add_many(self, tickets: Sequence[Ticket]) -> None:
        for ticket in tickets:
            self._s.tickets[ticket.id] = ticket

    async def get(self, ticket_id: UUID) -> Ticket | None:
        return self._s.tickets.get(ticket_id)

    async def for_order(self, order_id: UUID) -> list[Ticket]:
        return [t for t in self._s.tickets.values() if t.order_id == order_id]

    async def void_for_order(self, order_id: UUID) -> int:
        changed = 0
        for ticket in await self.for_order(order_id):
            if ticket.status is not TicketStatus.VOID:
                self._s.tickets[ticket.id] = msgspec.structs.replace(
                    ticket, status=TicketStatus.VOID
                )
                changed += 1
        return changed

    async def check_in(self, check_in: CheckIn) -> CheckIn:
        return self._s.check_ins.setdefault(check_in.ticket_id, check_in)  # first one stays


class MemoryRefundStore(_Store):
    async def add(self, refund: Refund) -> bool:
        if await self.find(refund.payment_id, refund.reason) is not None:
            return False
        self._s.refunds[refund.id] = refund
        return True

    async def get(self, refund_id: UUID) -> Refund | None:
        return self._s.refunds.get(refund_id)

    async def for_payment(self, payment_id: UUID) -> list[Refund]:
        return [r for r in self._s.refunds.values() if r.payment_id == payment_id]

    async def find(self, payment_id: UUID, reason: RefundReason) -> Refund | None:
        return next(
            (r for r in await self.for_payment(payment_id) if r.reason is reason),
            None,
        )

    async def update(self, refund: Refund) -> None:
        self._s.refunds[refund.id] = refund


class MemoryIdempotencyStore(_Store):
    async def get(self, user: str, key: str) -> IdempotencyRecord | None:
        return self._s.idempotency.get((user, key))

    async def add(self, record: IdempotencyRecord) -> bool:
        if (record.user, record.key) in self._s.idempotency:
            return False
        self._s.idempotency[(record.user, record.key)] = record
        return True

    async def prune(self, created_before: datetime) -> int:
        old = [k for k, r in self._s.idempotency.items() if r.created_at < created_before]
        for key in old:
            del self._s.idempotency[key]
        return len(old)


class MemoryOutboxStore(_Store):
    async def add(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            seq = self._s.next_seq
            self._s.next_seq += 1
            self._s.outbox[seq] = OutboxEntry(seq=seq, event=event)

    async def pending(self, *, limit: int) -> list[OutboxEntry]:
        waiting = (e for s, e in self._s.outbox.items() if s not in self._s.published)
        return sorted(waiting, key=lambda e: e.seq)[:limit]

    async def mark_published(self, seqs: Sequence[int], at: datetime) -> None:
        for seq in seqs:
            if seq in self._s.outbox:
                self._s.published.setdefault(seq, at)

    async def prune(self, published_before: datetime) -> int:
        old = [s for s, at in self._s.published.items() if at < published_before]
        for seq in old:
            del self._s.published[seq]
            del self._s.outbox[seq]
        return len(old)


class MemoryInboxStore(_Store):
    async def claim(self, consumer: str, event_id: str, at: datetime) -> bool:
        if (consumer, event_id) in self._s.inbox:
            return False
        self._s.inbox[(consumer, event_id)] = at
        return True

    async def prune(self, processed_before: datetime) -> int:
        old = [k for k, at in self._s.inbox.items() if at < processed_before]
        for key in old:
            del self._s.inbox[key]
        return len(old)


class MemoryNotificationStore(_Store):
    async def add(self, record: NotificationRecord) -> bool:
        key = (record.key, record.channel)
        if key in self._s.notifications:
            return False
        self._s.notifications[key] = record
        return True

    async def get(self, key: str, channel: str) -> NotificationRecord | None:
        return self._s.notifications.get((key, channel))

    async def update(self, record: NotificationRecord) -> None:
        self._s.notifications[(record.key, record.channel)] = record

    async def due(self, now: datetime, *, limit: int) -> list[NotificationRecord]:
        due = [
            r
            for r in self._s.notifications.values()
            if r.status in (NotificationStatus.QUEUED, NotificationStatus.FAILED)
            and r.next_attempt_at is not None
            and r.next_attempt_at <= now
        ]
        due.sort(key=lambda r: (r.next_attempt_at or now, r.id))
        return due[:limit]

    async def for_key_prefix(self, prefix: str) -> list[NotificationRecord]:
        return [r for r in self._s.notifications.values() if r.key.startswith(prefix)]
