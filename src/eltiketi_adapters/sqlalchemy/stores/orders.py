"""Orders, their tickets and check-ins.

Every statement is built once, at import, with ``p_``-prefixed bind parameters
(never a column's name: SQLAlchemy would take those as SET/VALUES entries) and
executed with a dict: building a construct and its cache key on every call
costs more Python CPU than executing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import Integer, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from eltiketi_adapters.sqlalchemy._tx import Tx
from eltiketi_adapters.sqlalchemy.models import CheckInRow, OrderRow, TicketRow
from eltiketi_core.domain.booking import BookingItem, Contact
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.order import (
    CheckIn,
    Order,
    OrderStatus,
    StockState,
    Ticket,
    TicketStatus,
)
from eltiketi_core.errors import Conflict

_orders = OrderRow.__table__
_tickets = TicketRow.__table__
_check_ins = CheckInRow.__table__

# INSERT … ON CONFLICT DO NOTHING RETURNING <primary key>, one per dialect; executed with the
# row's values (keys = column names).
_ADD_ORDER_PG = pg_insert(OrderRow).on_conflict_do_nothing().returning(OrderRow.id)
_ADD_ORDER_SQLITE = sqlite_insert(OrderRow).on_conflict_do_nothing().returning(OrderRow.id)
_ORDER_BY_ID = select(_orders).where(OrderRow.id == bindparam("p_id"))
_ORDER_OF_BOOKING_PAYMENT_OR_REFERENCE = select(OrderRow.id).where(
    or_(
        OrderRow.booking_id == bindparam("p_booking_id"),
        OrderRow.payment_id == bindparam("p_payment_id"),
        OrderRow.reference == bindparam("p_reference"),
    )
)
_ORDER_BY_REFERENCE = select(_orders).where(OrderRow.reference == bindparam("p_reference"))
_ORDER_FOR_BOOKING = select(_orders).where(OrderRow.booking_id == bindparam("p_booking_id"))
_ORDERS_FOR_BUYER = (
    select(_orders)
    .where(OrderRow.buyer == bindparam("p_buyer"))
    .order_by(OrderRow.created_at.desc(), OrderRow.id.desc())
    .limit(bindparam("p_limit", type_=Integer))
    .offset(bindparam("p_offset", type_=Integer))
)
_ORDERS_FOR_EVENT = (
    select(_orders)
    .where(OrderRow.event_id == bindparam("p_event_id"))
    .order_by(OrderRow.created_at, OrderRow.id)
    .limit(bindparam("p_limit", type_=Integer))
)
_ORDERS_FOR_EVENT_WITH_STATUS = (
    select(_orders)
    .where(OrderRow.event_id == bindparam("p_event_id"), OrderRow.status == bindparam("p_status"))
    .order_by(OrderRow.created_at, OrderRow.id)
    .limit(bindparam("p_limit", type_=Integer))
)
# Keyset pages by id (index ix_orders_event_id_status_id): the first, then each after the last.
_ORDERS_PAGE_FIRST = (
    select(_orders)
    .where(OrderRow.event_id == bindparam("p_event_id"), OrderRow.status == bindparam("p_status"))
    .order_by(OrderRow.id)
    .limit(bindparam("p_limit", type_=Integer))
)
_ORDERS_PAGE_AFTER = _ORDERS_PAGE_FIRST.where(OrderRow.id > bindparam("p_after"))
_COUNT_FOR_EVENT = select(func.count()).where(
    OrderRow.event_id == bindparam("p_event_id"), OrderRow.status == bindparam("p_status")
)
_TRANSITION_ORDER = (
    update(OrderRow)
    .where(OrderRow.id == bindparam("p_id"), OrderRow.status == bindparam("p_expected"))
    .values(status=bindparam("p_new"))
)
_MOVE_ORDER_STOCK = (
    update(OrderRow)
    .where(OrderRow.id == bindparam("p_id"), OrderRow.stock == bindparam("p_expected"))
    .values(stock=bindparam("p_new"))
)

_ADD_TICKETS = insert(TicketRow)
_TICKET_BY_ID = select(_tickets).where(TicketRow.id == bindparam("p_id"))
_TICKETS_FOR_ORDER = (
    select(_tickets)
    .where(TicketRow.order_id == bindparam("p_order_id"))
    .order_by(TicketRow.created_at, TicketRow.id)
)
# FOR SHARE: conflicts with the void's row lock (either waits for the other) while
# two scans of one ticket share it and let the check-in's primary key decide.
_TICKET_BY_ID_LOCKED = _TICKET_BY_ID.with_for_update(read=True)
_CHECKED_IN_OF_ORDER = (
    select(func.count())
    .select_from(_check_ins.join(_tickets, TicketRow.id == CheckInRow.ticket_id))
    .where(TicketRow.order_id == bindparam("p_order_id"))
)
_VOID_TICKETS_OF_ORDER = (
    update(TicketRow)
    .where(
        TicketRow.order_id == bindparam("p_order_id"),
        TicketRow.status != TicketStatus.VOID.value,
    )
    .values(status=TicketStatus.VOID.value)
)
# The first scan of a ticket wins; the primary key is the ticket id.
_ADD_CHECK_IN_PG = (
    pg_insert(CheckInRow)
    .on_conflict_do_nothing(index_elements=[CheckInRow.ticket_id])
    .returning(CheckInRow.ticket_id)
)
_ADD_CHECK_IN_SQLITE = (
    sqlite_insert(CheckInRow)
    .on_conflict_do_nothing(index_elements=[CheckInRow.ticket_id])
    .returning(CheckInRow.ticket_id)
)
_CHECK_IN_OF_TICKET = select(_check_ins).where(CheckInRow.ticket_id == bindparam("p_ticket_id"))


class SqlOrderStore:
    """:class:`~eltiketi_core.ports.OrderStore`; ``booking_id``, ``payment_id`` and
    ``reference`` are unique."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add(self, order: Order) -> bool:
        # No conflict target: a second order for the booking, the payment or the reference
        # is refused.
        statement = _ADD_ORDER_PG if self._tx.is_postgres else _ADD_ORDER_SQLITE
        result = await self._tx.execute(
            statement,
            {
                "id": order.id,
                "booking_id": order.booking_id,
                "payment_id": order.payment_id,
                "event_id": order.event_id,
                "buyer": order.buyer,
                "contact_email": order.contact.email,
                "contact_phone": order.contact.phone,
                "items": msgspec.to_builtins(order.items),
                "total_amount": order.total.amount,
                "total_currency": order.total.currency,
                "status": order.status.value,
                "stock": order.stock.value,
                "created_at": order.created_at,
                "reference": order.reference,
            },
        )
        if result.first() is not None:
            return True
        # Refused. False is the contract's answer for "this booking or payment already
        # has an order, or the reference is taken"; anything else that collided was the
        # primary key.
        taken = await self._tx.first(
            _ORDER_OF_BOOKING_PAYMENT_OR_REFERENCE,
            {
                "p_booking_id": order.booking_id,
                "p_payment_id": order.payment_id,
                "p_reference": order.reference,
            },
        )
        if taken is None:
            raise Conflict("constraint_violation", f"an order with id {order.id} exists")
        return False

    async def get(self, order_id: UUID) -> Order | None:
        row = (await self._tx.execute(_ORDER_BY_ID, {"p_id": order_id})).first()
        return _order(row._mapping) if row else None

    async def by_reference(self, reference: str) -> Order | None:
        row = (await self._tx.execute(_ORDER_BY_REFERENCE, {"p_reference": reference})).first()
        return _order(row._mapping) if row else None

    async def for_booking(self, booking_id: UUID) -> Order | None:
        row = (await self._tx.execute(_ORDER_FOR_BOOKING, {"p_booking_id": booking_id})).first()
        return _order(row._mapping) if row else None

    async def list_for_buyer(self, buyer: str, *, limit: int = 50, offset: int = 0) -> list[Order]:
        result = await self._tx.execute(
            _ORDERS_FOR_BUYER, {"p_buyer": buyer, "p_limit": limit, "p_offset": offset}
        )
        rows = result.all()
        return [_order(row._mapping) for row in rows]

    async def list_for_event(
        self, event_id: UUID, *, status: OrderStatus | None = None, limit: int = 500
    ) -> list[Order]:
        if status is None:
            result = await self._tx.execute(
                _ORDERS_FOR_EVENT, {"p_event_id": event_id, "p_limit": limit}
            )
        else:
            result = await self._tx.execute(
                _ORDERS_FOR_EVENT_WITH_STATUS,
                {"p_event_id": event_id, "p_status": status.value, "p_limit": limit},
            )
        rows = result.all()
        return [_order(row._mapping) for row in rows]

    async def page_for_event(
        self, event_id: UUID, *, status: OrderStatus, after: UUID | None, limit: int
    ) -> list[Order]:
        params = {"p_event_id": event_id, "p_status": status.value, "p_limit": limit}
        if after is None:
            rows = await self._tx.rows(_ORDERS_PAGE_FIRST, params)
        else:
            rows = await self._tx.rows(_ORDERS_PAGE_AFTER, {**params, "p_after": after})
        return [_order(row._mapping) for row in rows]

    async def count_for_event(self, event_id: UUID, *, status: OrderStatus) -> int:
        row = await self._tx.first(
            _COUNT_FOR_EVENT, {"p_event_id": event_id, "p_status": status.value}
        )
        return int(row[0]) if row is not None else 0

    async def transition(self, order_id: UUID, expected: OrderStatus, new: OrderStatus) -> bool:
        result = await self._tx.execute(
            _TRANSITION_ORDER, {"p_id": order_id, "p_expected": expected.value, "p_new": new.value}
        )
        return bool(result.rowcount == 1)

    async def move_stock(self, order_id: UUID, expected: StockState, new: StockState) -> bool:
        result = await self._tx.execute(
            _MOVE_ORDER_STOCK, {"p_id": order_id, "p_expected": expected.value, "p_new": new.value}
        )
        return bool(result.rowcount == 1)


class SqlTicketStore:
    """:class:`~eltiketi_core.ports.TicketStore`; a check-in's primary key is the ticket id."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add_many(self, tickets: Sequence[Ticket]) -> None:
        if not tickets:
            return
        await self._tx.execute(
            _ADD_TICKETS,
            [
                {
                    "id": ticket.id,
                    "order_id": ticket.order_id,
                    "event_id": ticket.event_id,
                    "ticket_type_id": ticket.ticket_type_id,
                    "holder": ticket.holder,
                    "holder_name": ticket.holder_name,
                    "status": ticket.status.value,
                    "token": ticket.token,
                    "version": ticket.version,
                    "created_at": ticket.created_at,
                }
                for ticket in tickets
            ],
        )

    async def get(self, ticket_id: UUID) -> Ticket | None:
        row = (await self._tx.execute(_TICKET_BY_ID, {"p_id": ticket_id})).first()
        return _ticket(row._mapping) if row else None

    async def for_order(self, order_id: UUID) -> list[Ticket]:
        rows = (await self._tx.execute(_TICKETS_FOR_ORDER, {"p_order_id": order_id})).all()
        return [_ticket(row._mapping) for row in rows]

    async def get_locked(self, ticket_id: UUID) -> Ticket | None:
        # SQLite has no row locks: BEGIN IMMEDIATE already runs one writer at a time.
        statement = _TICKET_BY_ID_LOCKED if self._tx.is_postgres else _TICKET_BY_ID
        row = (await self._tx.execute(statement, {"p_id": ticket_id})).first()
        return _ticket(row._mapping) if row else None

    async def checked_in_count(self, order_id: UUID) -> int:
        row = await self._tx.first(_CHECKED_IN_OF_ORDER, {"p_order_id": order_id})
        return int(row[0]) if row else 0

    async def void_for_order(self, order_id: UUID) -> int:
        result = await self._tx.execute(_VOID_TICKETS_OF_ORDER, {"p_order_id": order_id})
        return int(result.rowcount)

    async def check_in(self, check_in: CheckIn) -> CheckIn:
        statement = _ADD_CHECK_IN_PG if self._tx.is_postgres else _ADD_CHECK_IN_SQLITE
        inserted = await self._tx.execute(
            statement,
            {
                "id": check_in.id,
                "ticket_id": check_in.ticket_id,
                "event_id": check_in.event_id,
                "checked_in_at": check_in.checked_in_at,
                "scanned_by": check_in.scanned_by,
            },
        )
        if inserted.first() is not None:
            return check_in
        found = await self._tx.execute(_CHECK_IN_OF_TICKET, {"p_ticket_id": check_in.ticket_id})
        row = found.first()
        if row is None:  # pragma: no cover - the conflicting row cannot vanish (no deletes)
            raise RuntimeError(f"check-in of {check_in.ticket_id} conflicted but is missing")
        first = row._mapping
        return CheckIn(
            id=first["id"],
            ticket_id=first["ticket_id"],
            event_id=first["event_id"],
            checked_in_at=first["checked_in_at"],
            scanned_by=first["scanned_by"],
        )


def _order(row: Any) -> Order:
    return Order(
        id=row["id"],
        booking_id=row["booking_id"],
        payment_id=row["payment_id"],
        event_id=row["event_id"],
        buyer=row["buyer"],
        contact=Contact(email=row["contact_email"], phone=row["contact_phone"]),
        items=msgspec.convert(row["items"], tuple[BookingItem, ...]),
        total=Money(row["total_amount"], row["total_currency"]),
        status=OrderStatus(row["status"]),
        stock=StockState(row["stock"]),
        created_at=row["created_at"],
        reference=row["reference"],
    )


def _ticket(row: Any) -> Ticket:
    return Ticket(
        id=row["id"],
        order_id=row["order_id"],
        event_id=row["event_id"],
        ticket_type_id=row["ticket_type_id"],
        holder=row["holder"],
        holder_name=row["holder_name"],
        status=TicketStatus(row["status"]),
        token=row["token"],
        version=row["version"],
        created_at=row["created_at"],
    )
