"""In-memory implementations of every store port, over one :class:`MemoryStorage`.

They run inside :class:`~eltiketi_adapters.memory.uow.MemoryUnitOfWork`, which
serialises transactions, so each method may read and write freely; a store
used outside its ``async with`` raises. The rules the SQL adapters get from
constraints are checked here the same way, so a suite that passes in memory
means the same on PostgreSQL:

* a duplicate id or a reference to a missing row (a foreign key) raises
  :class:`~eltiketi_core.errors.Conflict` ``constraint_violation``, as the SQL
  adapters translate an integrity error;
* the documented uniqueness rules answer False and write nothing;
* a counter that would go below zero, or above capacity, raises
  :class:`~eltiketi_core.errors.InventoryInvariantError` before anything changes.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Collection, Iterable, MutableMapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import msgspec

from eltiketi_adapters.memory.state import MemoryStorage
from eltiketi_core.domain.booking import Booking, BookingStatus, Contact
from eltiketi_core.domain.catalog import Event, EventStatus, StockLevel, TicketType
from eltiketi_core.domain.events import DomainEvent
from eltiketi_core.domain.job import Job, JobKind, JobStatus
from eltiketi_core.domain.order import (
    CheckIn,
    Order,
    OrderStatus,
    StockState,
    Ticket,
    TicketStatus,
)
from eltiketi_core.domain.payment import Payment, PaymentStatus, Refund, RefundReason
from eltiketi_core.errors import Conflict, InventoryInvariantError
from eltiketi_core.ports.stores import (
    Attendee,
    IdempotencyRecord,
    NotificationRecord,
    NotificationStatus,
    OrderQuery,
    OrderTotals,
    OutboxEntry,
)

_RETRYABLE = frozenset({NotificationStatus.QUEUED, NotificationStatus.FAILED})
_ENDED_UNPAID = frozenset({BookingStatus.EXPIRED, BookingStatus.CANCELLED})


class TransactionState:
    """Whether the owning unit of work is inside its ``async with``."""

    __slots__ = ("open",)

    def __init__(self) -> None:
        self.open = False


S = TypeVar("S", bound=msgspec.Struct)


def _violation(detail: str) -> Conflict:
    return Conflict("constraint_violation", detail)


class _Store:
    __slots__ = ("_storage", "_tx")

    def __init__(self, storage: MemoryStorage, tx: TransactionState) -> None:
        self._storage = storage
        self._tx = tx

    @property
    def _db(self) -> MemoryStorage:
        if not self._tx.open:
            raise RuntimeError("use the unit of work's stores inside `async with uow:`")
        return self._storage


def _update_keeping(table: MutableMapping[UUID, S], key: UUID, new: S, *kept: str) -> None:
    """Store ``new`` over an existing row, keeping as stored the fields (``kept``) that the
    port's update never writes."""
    stored = table.get(key)
    if stored is not None:
        table[key] = msgspec.structs.replace(new, **{name: getattr(stored, name) for name in kept})


def _append(index: Any, key: Any, value: Any) -> None:
    """Add ``value`` to an index entry; entries are tuples, so a reader iterating one
    while a writer appends keeps its snapshot."""
    index[key] = (*index.get(key, ()), value)


class MemoryCatalogStore(_Store):
    async def add_event(self, event: Event) -> None:
        db = self._db
        if event.id in db.events:
            raise _violation(f"event {event.id} exists")
        if event.organization_id not in db.organizations:
            raise _violation(f"event of unknown organization {event.organization_id}")
        db.events[event.id] = event

    async def get_event(self, event_id: UUID) -> Event | None:
        return self._db.events.get(event_id)

    async def update_event(self, event: Event) -> None:
        _update_keeping(
            self._db.events, event.id, event, "owner", "organization_id", "status", "created_at"
        )

    async def open_for_sale(
        self,
        event_id: UUID,
        ticket_type_ids: Sequence[UUID],
        *,
        buyer: str | None,
        more_buyers: Collection[str] = (),
    ) -> tuple[Event, dict[UUID, TicketType]] | None:
        # Units of work run one at a time here: nothing else can happen meanwhile.
        db = self._db
        event = db.events.get(event_id)
        if event is None:
            return None
        types = {
            type_id: ticket_type
            for type_id in ticket_type_ids
            if (ticket_type := db.ticket_types.get(type_id)) is not None
            and ticket_type.event_id == event_id
        }
        return event, types

    async def set_event_status(self, event_id: UUID, status: EventStatus) -> None:
        db = self._db
        event = db.events.get(event_id)
        if event is not None:
            db.events[event_id] = msgspec.structs.replace(event, status=status)

    async def list_events(
        self,
        *,
        statuses: frozenset[EventStatus] | None = None,
        organizations: Collection[UUID] | None = None,
        starts_after: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Event]:
        wanted = None if organizations is None else frozenset(organizations)
        found = [
            e
            for e in self._db.events.values()
            if (statuses is None or e.status in statuses)
            and (wanted is None or e.organization_id in wanted)
            and (starts_after is None or e.starts_at > starts_after)
        ]
        found.sort(key=lambda e: (e.starts_at, e.id))
        return found[offset : offset + limit]

    async def add_ticket_type(self, ticket_type: TicketType) -> None:
        db = self._db
        if ticket_type.id in db.ticket_types:
            raise _violation(f"ticket type {ticket_type.id} exists")
        if ticket_type.event_id not in db.events:
            raise _violation(f"ticket type for unknown event {ticket_type.event_id}")
        db.ticket_types[ticket_type.id] = ticket_type
        _append(db.ticket_types_by_event, ticket_type.event_id, ticket_type.id)
        db.stock[ticket_type.id] = StockLevel(
            ticket_type_id=ticket_type.id, capacity=ticket_type.capacity
        )

    async def get_ticket_type(self, ticket_type_id: UUID) -> TicketType | None:
        return self._db.ticket_types.get(ticket_type_id)

    async def update_ticket_type(self, ticket_type: TicketType) -> None:
        _update_keeping(
            self._db.ticket_types, ticket_type.id, ticket_type, "event_id", "capacity", "shards"
        )

    async def ticket_types(self, event_id: UUID) -> list[TicketType]:
        db = self._db
        return [db.ticket_types[i] for i in db.ticket_types_by_event.get(event_id, ())]


class MemoryInventoryStore(_Store):
    """One counter row per ticket type (``shards`` changes nothing here: transactions
    are serial, so no row is ever locked) plus, per (booking, type), the held and
    sold quantities it accounts for, so every give-back is exact."""

    async def reserve(self, booking_id: UUID, ticket_type_id: UUID, quantity: int) -> bool:
        level = self._db.stock.get(ticket_type_id)
        if level is None or quantity < 1 or level.available < quantity:
            return False
        self._move(booking_id, ticket_type_id, held=quantity, sold=0)
        return True

    async def take(self, ticket_type_id: UUID, takes: Sequence[tuple[UUID, int]]) -> bool:
        level = self._db.stock.get(ticket_type_id)
        total = sum(quantity for _, quantity in takes)
        if level is None or any(q < 1 for _, q in takes) or level.available < total:
            return False
        for booking_id, quantity in takes:
            self._move(booking_id, ticket_type_id, held=quantity, sold=0)
        return True

    async def lock_available(self, ticket_type_ids: Sequence[UUID]) -> dict[UUID, int]:
        # Units of work run one at a time: what is read here stays true until the end.
        stock = self._db.stock
        return {i: stock[i].available for i in ticket_type_ids if i in stock}

    async def release(self, booking_id: UUID, ticket_type_id: UUID, quantity: int) -> None:
        self._move(booking_id, ticket_type_id, held=-quantity, sold=0)

    async def sell(self, booking_id: UUID, ticket_type_id: UUID, quantity: int) -> None:
        self._move(booking_id, ticket_type_id, held=-quantity, sold=quantity)

    async def unsell(self, booking_id: UUID, ticket_type_id: UUID, quantity: int) -> None:
        self._move(booking_id, ticket_type_id, held=0, sold=-quantity)

    async def levels(self, ticket_type_ids: Sequence[UUID]) -> dict[UUID, StockLevel]:
        stock = self._db.stock
        return {i: stock[i] for i in ticket_type_ids if i in stock}

    async def set_capacity(self, ticket_type_id: UUID, capacity: int) -> bool:
        db = self._db
        level = db.stock.get(ticket_type_id)
        ticket_type = db.ticket_types.get(ticket_type_id)
        if level is None or ticket_type is None or capacity < level.held + level.sold:
            return False
        db.stock[ticket_type_id] = msgspec.structs.replace(level, capacity=capacity)
        db.ticket_types[ticket_type_id] = msgspec.structs.replace(ticket_type, capacity=capacity)
        return True

    def _move(self, booking_id: UUID, ticket_type_id: UUID, *, held: int, sold: int) -> None:
        db = self._db
        level = db.stock.get(ticket_type_id)
        if level is None:
            raise InventoryInvariantError(f"no stock for ticket type {ticket_type_id}")
        key = (booking_id, ticket_type_id)
        mine_held, mine_sold = db.allocations.get(key, (0, 0))
        mine = (mine_held + held, mine_sold + sold)
        after = msgspec.structs.replace(level, held=level.held + held, sold=level.sold + sold)
        if min(mine) < 0 or after.held < 0 or after.sold < 0 or after.available < 0:
            raise InventoryInvariantError(
                f"moving held {held:+}, sold {sold:+} of {ticket_type_id} for booking "
                f"{booking_id} (which accounts for held {mine_held}, sold {mine_sold}) "
                "breaks the counters"
            )
        if mine == (0, 0):
            db.allocations.pop(key, None)
        else:
            db.allocations[key] = mine
        db.stock[ticket_type_id] = after


class MemoryBookingStore(_Store):
    async def add(self, booking: Booking) -> None:
        db = self._db
        if booking.id in db.bookings:
            raise _violation(f"booking {booking.id} exists")
        if booking.event_id not in db.events:
            raise _violation(f"booking for unknown event {booking.event_id}")
        for item in booking.items:
            if item.ticket_type_id not in db.ticket_types:
                raise _violation(f"booking item of unknown ticket type {item.ticket_type_id}")
        db.bookings[booking.id] = booking
        _append(db.bookings_by_buyer, (booking.buyer, booking.event_id), booking.id)
        if booking.status is BookingStatus.HELD:
            db.held[booking.id] = booking.expires_at

    async def add_many(self, bookings: Sequence[Booking]) -> None:
        for booking in bookings:
            await self.add(booking)

    async def get(self, booking_id: UUID) -> Booking | None:
        return self._db.bookings.get(booking_id)

    async def transition(
        self, booking_id: UUID, expected: BookingStatus, new: BookingStatus
    ) -> bool:
        db = self._db
        booking = db.bookings.get(booking_id)
        if booking is None or booking.status is not expected:
            return False
        db.bookings[booking_id] = booking.with_status(new)
        if new is BookingStatus.HELD:
            db.held[booking_id] = booking.expires_at
        else:
            db.held.pop(booking_id, None)
        return True

    async def set_contact(self, booking_id: UUID, contact: Contact) -> bool:
        db = self._db
        booking = db.bookings.get(booking_id)
        if booking is None or booking.status is not BookingStatus.HELD:
            return False
        db.bookings[booking_id] = msgspec.structs.replace(booking, contact=contact)
        return True

    async def end(self, booking_id: UUID, new: BookingStatus, *, at: datetime) -> bool:
        if new not in _ENDED_UNPAID:
            raise ValueError(f"a hold ends expired or cancelled, not {new.value}")
        if not await self.transition(booking_id, BookingStatus.HELD, new):
            return False
        self._db.ended_at[booking_id] = at
        return True

    async def ended_unpaid(
        self, buyer: str, event_id: UUID, *, since: datetime, limit: int
    ) -> list[datetime]:
        db = self._db
        ended = [
            at
            for booking_id in db.bookings_by_buyer.get((buyer, event_id), ())
            if db.bookings[booking_id].status in _ENDED_UNPAID
            and (at := db.ended_at.get(booking_id)) is not None
            and at >= since
        ]
        ended.sort(reverse=True)
        return ended[:limit]

    async def ended_unpaid_of(
        self, buyers: Collection[str], event_id: UUID, *, since: datetime, limit: int
    ) -> dict[str, list[datetime]]:
        found = {
            buyer: await self.ended_unpaid(buyer, event_id, since=since, limit=limit)
            for buyer in buyers
        }
        return {buyer: ended for buyer, ended in found.items() if ended}

    async def set_holders(self, booking_id: UUID, holders: tuple[str, ...]) -> bool:
        db = self._db
        booking = db.bookings.get(booking_id)
        if booking is None or booking.status is not BookingStatus.HELD:
            return False
        db.bookings[booking_id] = msgspec.structs.replace(booking, holders=tuple(holders))
        return True

    async def claim_expired(
        self, now: datetime, *, limit: int, ticket_type_id: UUID | None = None
    ) -> list[Booking]:
        db = self._db
        expired = [
            db.bookings[booking_id]
            for booking_id, expires_at in db.held.items()
            if expires_at <= now
        ]
        if ticket_type_id is not None:
            expired = [
                b for b in expired if any(i.ticket_type_id == ticket_type_id for i in b.items)
            ]
        expired.sort(key=lambda b: (b.expires_at, b.id))
        return expired[:limit]

    async def active_quantities(
        self, buyers: Collection[str], event_id: UUID, now: datetime
    ) -> dict[str, int]:
        return {buyer: await self.active_quantity(buyer, event_id, now) for buyer in buyers}

    async def active_quantity(self, buyer: str, event_id: UUID, now: datetime) -> int:
        db = self._db
        total = 0
        for booking_id in db.bookings_by_buyer.get((buyer, event_id), ()):
            booking = db.bookings[booking_id]
            if booking.status is BookingStatus.HELD:
                counts = booking.expires_at > now
            elif booking.status is BookingStatus.CONFIRMED:
                order_id = db.order_by_booking.get(booking_id)
                counts = order_id is None or db.orders[order_id].status is not OrderStatus.REFUNDED
            else:
                counts = False
            if counts:
                total += booking.quantity
        return total

    async def held_for_event(self, event_id: UUID, *, limit: int) -> list[Booking]:
        db = self._db
        held = [
            booking for booking in (db.bookings[i] for i in db.held) if booking.event_id == event_id
        ]
        held.sort(key=lambda b: (b.created_at, b.id))
        return held[:limit]

    async def any_for_event(self, event_id: UUID) -> bool:
        return any(booking.event_id == event_id for booking in self._db.bookings.values())


class MemoryPaymentStore(_Store):
    async def add(self, payment: Payment) -> bool:
        db = self._db
        if payment.id in db.payments:
            raise _violation(f"payment {payment.id} exists")
        if payment.booking_id not in db.bookings:
            raise _violation(f"payment for unknown booking {payment.booking_id}")
        if payment.status is PaymentStatus.OPEN and payment.booking_id in db.open_payment:
            return False
        self._check_reference(payment)
        self._write(payment)
        return True

    async def get(self, payment_id: UUID) -> Payment | None:
        return self._db.payments.get(payment_id)

    async def open_for_booking(self, booking_id: UUID) -> Payment | None:
        db = self._db
        payment_id = db.open_payment.get(booking_id)
        return None if payment_id is None else db.payments[payment_id]

    async def for_booking(self, booking_id: UUID) -> list[Payment]:
        found = [p for p in self._db.payments.values() if p.booking_id == booking_id]
        return sorted(found, key=lambda p: (p.created_at, p.id), reverse=True)

    async def by_reference(self, provider: str, reference: str) -> Payment | None:
        db = self._db
        payment_id = db.payment_by_reference.get((provider, reference))
        return None if payment_id is None else db.payments[payment_id]

    async def update(self, payment: Payment) -> None:
        db = self._db
        if payment.id not in db.payments:
            return
        if (
            payment.status is PaymentStatus.OPEN
            and db.open_payment.get(payment.booking_id, payment.id) != payment.id
        ):
            raise _violation(f"booking {payment.booking_id} already has an open payment")
        self._check_reference(payment)
        self._write(payment)

    async def transition(
        self, payment_id: UUID, expected: frozenset[PaymentStatus], new: PaymentStatus
    ) -> bool:
        db = self._db
        payment = db.payments.get(payment_id)
        if payment is None or payment.status not in expected:
            return False
        if (
            new is PaymentStatus.OPEN
            and db.open_payment.get(payment.booking_id, payment_id) != payment_id
        ):
            return False
        self._write(payment.with_status(new))
        return True

    def _check_reference(self, payment: Payment) -> None:
        if payment.provider_reference is None:
            return
        owner = self._db.payment_by_reference.get((payment.provider, payment.provider_reference))
        if owner is not None and owner != payment.id:
            raise _violation(f"provider reference {payment.provider_reference!r} is taken")

    def _write(self, payment: Payment) -> None:
        db = self._db
        before = db.payments.get(payment.id)
        db.payments[payment.id] = payment
        if payment.status is PaymentStatus.OPEN:
            db.open_payment[payment.booking_id] = payment.id
        elif db.open_payment.get(payment.booking_id) == payment.id:
            del db.open_payment[payment.booking_id]
        if (
            before is not None
            and before.provider_reference is not None
            and before.provider_reference != payment.provider_reference
        ):
            db.payment_by_reference.pop((before.provider, before.provider_reference), None)
        if payment.provider_reference is not None:
            db.payment_by_reference[(payment.provider, payment.provider_reference)] = payment.id


class MemoryOrderStore(_Store):
    async def add(self, order: Order) -> bool:
        db = self._db
        if order.id in db.orders:
            raise _violation(f"order {order.id} exists")
        if order.booking_id not in db.bookings or (
            order.payment_id is not None and order.payment_id not in db.payments
        ):
            raise _violation("order for an unknown booking or payment")
        if (
            order.booking_id in db.order_by_booking
            or (order.payment_id is not None and order.payment_id in db.order_by_payment)
            or order.reference in db.order_by_reference
        ):
            return False
        db.orders[order.id] = order
        db.order_by_booking[order.booking_id] = order.id
        if order.payment_id is not None:
            db.order_by_payment[order.payment_id] = order.id
        db.order_by_reference[order.reference] = order.id
        return True

    async def get(self, order_id: UUID) -> Order | None:
        return self._db.orders.get(order_id)

    async def by_reference(self, reference: str) -> Order | None:
        db = self._db
        order_id = db.order_by_reference.get(reference)
        return None if order_id is None else db.orders[order_id]

    async def for_booking(self, booking_id: UUID) -> Order | None:
        db = self._db
        order_id = db.order_by_booking.get(booking_id)
        return None if order_id is None else db.orders[order_id]

    async def list_for_buyer(self, buyer: str, *, limit: int = 50, offset: int = 0) -> list[Order]:
        found = [o for o in self._db.orders.values() if o.buyer == buyer]
        found.sort(key=lambda o: (o.created_at, o.id), reverse=True)
        return found[offset : offset + limit]

    async def list_for_event(
        self, event_id: UUID, *, status: OrderStatus | None = None, limit: int = 500
    ) -> list[Order]:
        found = [
            o
            for o in self._db.orders.values()
            if o.event_id == event_id and (status is None or o.status is status)
        ]
        found.sort(key=lambda o: (o.created_at, o.id))
        return found[:limit]

    async def page_for_event(
        self, event_id: UUID, *, status: OrderStatus, after: UUID | None, limit: int
    ) -> list[Order]:
        found = (
            o
            for o in self._db.orders.values()
            if o.event_id == event_id and o.status is status and (after is None or o.id > after)
        )
        return heapq.nsmallest(max(limit, 0), found, key=lambda o: o.id)

    async def count_for_event(self, event_id: UUID, *, status: OrderStatus) -> int:
        return sum(
            1 for o in self._db.orders.values() if o.event_id == event_id and o.status is status
        )

    async def search(self, query: OrderQuery, *, limit: int, offset: int = 0) -> list[Order]:
        events = frozenset(query.event_ids)
        found = [
            o
            for o in self._db.orders.values()
            if o.event_id in events
            and (query.status is None or o.status is query.status)
            and _matches(o, query, self._names_on_tickets)
        ]
        found.sort(key=lambda o: (o.created_at, o.id), reverse=True)
        return found[offset : offset + limit]

    def _names_on_tickets(self, order_id: UUID) -> list[str | None]:
        db = self._db
        return [db.tickets[t].holder_name for t in db.tickets_by_order.get(order_id, ())]

    async def totals(self, event_ids: Sequence[UUID]) -> dict[UUID, OrderTotals]:
        wanted = frozenset(event_ids)
        sums: dict[UUID, list[int]] = {}
        for order in self._db.orders.values():
            if order.event_id not in wanted:
                continue
            row = sums.setdefault(order.event_id, [0, 0, 0, 0])
            refunded = order.status is OrderStatus.REFUNDED
            row[refunded] += 1
            row[2 + refunded] += order.total.amount
        return {
            event_id: OrderTotals(
                event_id=event_id,
                confirmed=row[0],
                refunded=row[1],
                confirmed_amount=row[2],
                refunded_amount=row[3],
            )
            for event_id, row in sums.items()
        }

    async def hourly_counts(self, event_id: UUID, *, since: datetime) -> dict[datetime, int]:
        counts: Counter[datetime] = Counter(
            o.created_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            for o in self._db.orders.values()
            if o.event_id == event_id and o.created_at >= since
        )
        return dict(counts)

    async def transition(self, order_id: UUID, expected: OrderStatus, new: OrderStatus) -> bool:
        db = self._db
        order = db.orders.get(order_id)
        if order is None or order.status is not expected:
            return False
        db.orders[order_id] = msgspec.structs.replace(order, status=new)
        return True

    async def move_stock(self, order_id: UUID, expected: StockState, new: StockState) -> bool:
        db = self._db
        order = db.orders.get(order_id)
        if order is None or order.stock is not expected:
            return False
        db.orders[order_id] = msgspec.structs.replace(order, stock=new)
        return True


def _matches(
    order: Order, query: OrderQuery, names: Callable[[UUID], Iterable[str | None]]
) -> bool:
    """Whether the order meets any of the query's identifying criteria (all: none given);
    ``names`` gives the names on an order's tickets."""
    if query.text is None and query.id_prefix is None and query.reference is None:
        return True
    if query.reference is not None and order.reference == query.reference:
        return True
    if query.id_prefix is not None and order.id.hex.startswith(query.id_prefix):
        return True
    text = query.text.lower() if query.text else None
    return text is not None and any(
        text in value.lower()
        for value in (order.contact.email, order.contact.phone, order.buyer, *names(order.id))
        if value
    )


class MemoryTicketStore(_Store):
    async def add_many(self, tickets: Sequence[Ticket]) -> None:
        db = self._db
        ids = [t.id for t in tickets]
        if len(set(ids)) != len(ids) or any(i in db.tickets for i in ids):
            raise _violation("a ticket id exists")
        for ticket in tickets:  # all checked before any is written, like one INSERT
            if ticket.order_id not in db.orders or ticket.ticket_type_id not in db.ticket_types:
                raise _violation(f"ticket {ticket.id} for an unknown order or ticket type")
        for ticket in tickets:
            db.tickets[ticket.id] = ticket
            _append(db.tickets_by_order, ticket.order_id, ticket.id)

    async def get(self, ticket_id: UUID) -> Ticket | None:
        return self._db.tickets.get(ticket_id)

    async def for_order(self, order_id: UUID) -> list[Ticket]:
        db = self._db
        found = [db.tickets[i] for i in db.tickets_by_order.get(order_id, ())]
        found.sort(key=lambda t: (t.created_at, t.id))
        return found

    async def get_locked(self, ticket_id: UUID) -> Ticket | None:
        return self._db.tickets.get(ticket_id)  # transactions run one at a time here

    async def void_for_order(self, order_id: UUID) -> int:
        db = self._db
        changed = 0
        for ticket_id in db.tickets_by_order.get(order_id, ()):
            ticket = db.tickets[ticket_id]
            if ticket.status is not TicketStatus.VOID:
                db.tickets[ticket_id] = msgspec.structs.replace(ticket, status=TicketStatus.VOID)
                changed += 1
        return changed

    async def checked_in_count(self, order_id: UUID) -> int:
        db = self._db
        return sum(1 for i in db.tickets_by_order.get(order_id, ()) if i in db.check_ins)

    async def check_in(self, check_in: CheckIn) -> CheckIn:
        db = self._db
        first = db.check_ins.get(check_in.ticket_id)
        if first is not None:
            return first
        if check_in.ticket_id not in db.tickets:
            raise _violation(f"check-in of unknown ticket {check_in.ticket_id}")
        if check_in.id in db.check_in_ids:
            raise _violation(f"check-in {check_in.id} exists")
        db.check_ins[check_in.ticket_id] = check_in
        db.check_in_ids[check_in.id] = check_in.ticket_id
        return check_in

    async def check_ins_for_order(self, order_id: UUID) -> list[CheckIn]:
        db = self._db
        found = [
            db.check_ins[t] for t in db.tickets_by_order.get(order_id, ()) if t in db.check_ins
        ]
        found.sort(key=lambda c: (c.checked_in_at, c.ticket_id))
        return found

    async def check_in_count(self, event_id: UUID) -> int:
        return sum(1 for c in self._db.check_ins.values() if c.event_id == event_id)

    async def attendees(
        self, event_id: UUID, *, after: UUID | None, limit: int, include_void: bool = False
    ) -> list[Attendee]:
        db = self._db
        # A scan per page: this adapter keeps no per-event index of tickets (a page
        # costs the event's size here, not the page's; fine for what it serves).
        page = heapq.nsmallest(
            max(limit, 0),
            (
                t
                for t in db.tickets.values()
                if t.event_id == event_id
                and (after is None or t.id > after)
                and (include_void or t.status is TicketStatus.VALID)
            ),
            key=lambda t: t.id,
        )
        out = []
        for ticket in page:
            order = db.orders[ticket.order_id]
            check_in = db.check_ins.get(ticket.id)
            out.append(
                Attendee(
                    ticket_id=ticket.id,
                    order_id=ticket.order_id,
                    ticket_type_id=ticket.ticket_type_id,
                    holder=ticket.holder,
                    status=ticket.status,
                    holder_name=ticket.holder_name,
                    email=order.contact.email,
                    phone=order.contact.phone,
                    checked_in_at=check_in.checked_in_at if check_in else None,
                )
            )
        return out


class MemoryRefundStore(_Store):
    async def add(self, refund: Refund) -> bool:
        db = self._db
        if refund.payment_id in db.refund_by_payment:
            return False  # checked first, as the SQL adapter's ON CONFLICT (payment_id) does
        if refund.id in db.refunds:
            raise _violation(f"refund {refund.id} exists")
        if refund.payment_id not in db.payments or refund.booking_id not in db.bookings:
            raise _violation("refund for an unknown payment or booking")
        if refund.order_id is not None and refund.order_id not in db.orders:
            raise _violation(f"refund for unknown order {refund.order_id}")
        db.refunds[refund.id] = refund
        db.refund_by_payment[refund.payment_id] = refund.id
        return True

    async def get(self, refund_id: UUID) -> Refund | None:
        return self._db.refunds.get(refund_id)

    async def for_payment(self, payment_id: UUID) -> list[Refund]:
        db = self._db
        refund_id = db.refund_by_payment.get(payment_id)
        return [] if refund_id is None else [db.refunds[refund_id]]

    async def find(self, payment_id: UUID, reason: RefundReason) -> Refund | None:
        found = await self.for_payment(payment_id)
        return found[0] if found and found[0].reason is reason else None

    async def update(self, refund: Refund) -> None:
        db = self._db
        before = db.refunds.get(refund.id)
        if before is None:
            return
        if (before.payment_id, before.reason) != (refund.payment_id, refund.reason):
            raise _violation("a refund's payment and reason do not change")
        db.refunds[refund.id] = refund


class MemoryIdempotencyStore(_Store):
    async def get(self, user: str, key: str) -> IdempotencyRecord | None:
        return self._db.idempotency.get((user, key))

    async def add(self, record: IdempotencyRecord) -> bool:
        db = self._db
        if (record.user, record.key) in db.idempotency:
            return False
        db.idempotency[(record.user, record.key)] = record
        return True

    async def add_many(self, records: Sequence[IdempotencyRecord]) -> set[tuple[str, str]]:
        return {(r.user, r.key) for r in records if await self.add(r)}

    async def prune(self, created_before: datetime) -> int:
        db = self._db
        old = [k for k, r in db.idempotency.items() if r.created_at < created_before]
        for key in old:
            del db.idempotency[key]
        return len(old)


class MemoryOutboxStore(_Store):
    async def add(self, events: Sequence[DomainEvent]) -> None:
        db = self._db
        ids = [e.id for e in events]
        if len(set(ids)) != len(ids) or any(i in db.outbox_event_ids for i in ids):
            raise _violation("an event is already in the outbox")
        for event in events:
            seq = db.next_seq
            db.next_seq += 1
            db.outbox[seq] = OutboxEntry(seq=seq, event=event)
            db.outbox_event_ids[event.id] = seq
            db.unpublished[seq] = None

    async def pending(self, *, limit: int) -> list[OutboxEntry]:
        db = self._db
        return [db.outbox[seq] for seq in heapq.nsmallest(max(limit, 0), db.unpublished)]

    async def mark_published(self, seqs: Sequence[int], at: datetime) -> None:
        db = self._db
        for seq in seqs:
            if seq in db.unpublished:
                del db.unpublished[seq]
                db.published[seq] = at

    async def prune(self, published_before: datetime) -> int:
        db = self._db
        old = [s for s, at in db.published.items() if at < published_before]
        for seq in old:
            del db.published[seq]
            del db.outbox_event_ids[db.outbox[seq].event.id]
            del db.outbox[seq]
        return len(old)


class MemoryInboxStore(_Store):
    async def claim(self, consumer: str, event_id: str, at: datetime) -> bool:
        db = self._db
        if (consumer, event_id) in db.inbox:
            return False
        db.inbox[(consumer, event_id)] = at
        return True

    async def prune(self, processed_before: datetime) -> int:
        db = self._db
        old = [k for k, at in db.inbox.items() if at < processed_before]
        for key in old:
            del db.inbox[key]
        return len(old)


class MemoryNotificationStore(_Store):
    async def add(self, record: NotificationRecord) -> bool:
        db = self._db
        key = (record.key, record.channel)
        if key in db.notifications:
            return False
        if record.id in db.notification_ids:
            raise _violation(f"notification {record.id} exists")
        db.notifications[key] = record
        db.notification_ids[record.id] = key
        return True

    async def get(self, key: str, channel: str) -> NotificationRecord | None:
        return self._db.notifications.get((key, channel))

    async def update(self, record: NotificationRecord) -> None:
        """Rewrites the record with the same id (key and channel never change)."""
        db = self._db
        stored = db.notifications.get((record.key, record.channel))
        if stored is not None and stored.id == record.id:
            db.notifications[(record.key, record.channel)] = record

    async def claim_due(
        self, now: datetime, *, lease: UUID, until: datetime, limit: int
    ) -> list[NotificationRecord]:
        db = self._db
        due = [
            r
            for r in db.notifications.values()
            if r.status in _RETRYABLE and r.next_attempt_at is not None and r.next_attempt_at <= now
        ]
        due.sort(key=lambda r: (r.next_attempt_at or now, r.id))
        claimed = [
            msgspec.structs.replace(r, lease=lease, next_attempt_at=until) for r in due[:limit]
        ]
        for record in claimed:
            db.notifications[(record.key, record.channel)] = record
        return claimed

    async def renew(self, lease: UUID, until: datetime) -> int:
        db = self._db
        held = [r for r in db.notifications.values() if r.lease == lease and r.status in _RETRYABLE]
        for record in held:
            db.notifications[(record.key, record.channel)] = msgspec.structs.replace(
                record, next_attempt_at=until
            )
        return len(held)

    async def finish(self, record: NotificationRecord, *, lease: UUID) -> bool:
        db = self._db
        stored = db.notifications.get((record.key, record.channel))
        if stored is None or stored.id != record.id or stored.lease != lease:
            return False
        db.notifications[(record.key, record.channel)] = record
        return True

    async def claim_resend(
        self,
        key: str,
        channel: str,
        *,
        now: datetime,
        quiet_since: datetime,
        lease: UUID,
        until: datetime,
    ) -> NotificationRecord | None:
        db = self._db
        stored = db.notifications.get((key, channel))
        if stored is None:
            return None
        requested = stored.requested_at or stored.created_at
        in_flight = stored.lease is not None and (
            stored.next_attempt_at is None or stored.next_attempt_at > now
        )
        recent = requested > quiet_since or (
            stored.sent_at is not None and stored.sent_at > quiet_since
        )
        if in_flight or recent:
            return None
        claimed = msgspec.structs.replace(
            stored,
            generation=stored.generation + 1,
            requested_at=now,
            status=NotificationStatus.QUEUED,
            attempts=0,
            lease=lease,
            next_attempt_at=until,
            error=None,
        )
        db.notifications[(key, channel)] = claimed
        return claimed

    async def take_quota(self, scope: str, channel: str, limit: int) -> bool:
        db = self._db
        used = db.notification_quotas.get((scope, channel), 0)
        if used >= limit:
            return False
        db.notification_quotas[(scope, channel)] = used + 1
        return True

    async def for_key_prefix(self, prefix: str) -> list[NotificationRecord]:
        found = [r for r in self._db.notifications.values() if r.key.startswith(prefix)]
        found.sort(key=lambda r: (r.created_at, r.key, r.channel))
        return found


class MemoryJobStore(_Store):
    """Jobs; units of work run one at a time here, so a claim never meets a locked row."""

    async def add(self, job: Job) -> bool:
        db = self._db
        if job.id in db.jobs:
            raise _violation(f"job {job.id} exists")
        if job.event_id not in db.events:
            raise _violation(f"job for unknown event {job.event_id}")
        key = (job.event_id, job.kind)
        if key in db.job_by_event:
            return False
        db.jobs[job.id] = job
        db.job_by_event[key] = job.id
        return True

    async def get(self, job_id: UUID) -> Job | None:
        return self._db.jobs.get(job_id)

    async def for_event(self, event_id: UUID, kind: JobKind) -> Job | None:
        db = self._db
        job_id = db.job_by_event.get((event_id, kind))
        return None if job_id is None else db.jobs[job_id]

    async def claim(self, now: datetime, *, owner: str, until: datetime, limit: int) -> list[Job]:
        db = self._db
        due = (job for job in db.jobs.values() if _due(job, now))
        claimed = []
        for job in heapq.nsmallest(max(limit, 0), due, key=lambda j: (j.created_at, j.id)):
            taken = msgspec.structs.replace(
                job,
                status=JobStatus.RUNNING,
                lease_owner=owner,
                lease_expires_at=until,
                started_at=job.started_at or now,
            )
            db.jobs[job.id] = taken
            claimed.append(taken)
        return claimed

    async def update(self, job: Job, *, owner: str | None) -> bool:
        db = self._db
        stored = db.jobs.get(job.id)
        if (
            stored is None
            or stored.lease_owner != owner
            or (stored.event_id, stored.kind) != (job.event_id, job.kind)
        ):
            return False
        db.jobs[job.id] = job
        return True


def _due(job: Job, now: datetime) -> bool:
    if job.status is JobStatus.QUEUED:
        return True
    return job.status is JobStatus.RUNNING and (
        job.lease_expires_at is None or job.lease_expires_at <= now
    )
