"""Orders, their tickets and check-ins."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import insert, select, update

from eltiketi_adapters.sqlalchemy._tx import Tx, insert_unless_exists
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

_orders = OrderRow.__table__
_tickets = TicketRow.__table__
_check_ins = CheckInRow.__table__


class SqlOrderStore:
    """:class:`~eltiketi_core.ports.OrderStore`; ``booking_id`` and ``payment_id`` are unique."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add(self, order: Order) -> bool:
        # No conflict target: a second order for the booking OR for the payment is refused.
        return await insert_unless_exists(
            self._tx,
            OrderRow,
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
            },
        )

    async def get(self, order_id: UUID) -> Order | None:
        row = await self._tx.first(select(_orders).where(OrderRow.id == order_id))
        return _order(row._mapping) if row else None

    async def for_booking(self, booking_id: UUID) -> Order | None:
        row = await self._tx.first(select(_orders).where(OrderRow.booking_id == booking_id))
        return _order(row._mapping) if row else None

    async def list_for_buyer(self, buyer: str, *, limit: int = 50, offset: int = 0) -> list[Order]:
        rows = await self._tx.rows(
            select(_orders)
            .where(OrderRow.buyer == buyer)
            .order_by(OrderRow.created_at.desc(), OrderRow.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [_order(row._mapping) for row in rows]

    async def list_for_event(
        self, event_id: UUID, *, status: OrderStatus | None = None, limit: int = 500
    ) -> list[Order]:
        query = select(_orders).where(OrderRow.event_id == event_id)
        if status is not None:
            query = query.where(OrderRow.status == status.value)
        rows = await self._tx.rows(query.order_by(OrderRow.created_at, OrderRow.id).limit(limit))
        return [_order(row._mapping) for row in rows]

    async def transition(self, order_id: UUID, expected: OrderStatus, new: OrderStatus) -> bool:
        result = await self._tx.execute(
            update(OrderRow)
            .where(OrderRow.id == order_id, OrderRow.status == expected.value)
            .values(status=new.value)
        )
        return bool(result.rowcount == 1)

    async def move_stock(self, order_id: UUID, expected: StockState, new: StockState) -> bool:
        result = await self._tx.execute(
            update(OrderRow)
            .where(OrderRow.id == order_id, OrderRow.stock == expected.value)
            .values(stock=new.value)
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
            insert(TicketRow),
            [
                {
                    "id": ticket.id,
                    "order_id": ticket.order_id,
                    "event_id": ticket.event_id,
                    "ticket_type_id": ticket.ticket_type_id,
                    "holder": ticket.holder,
                    "status": ticket.status.value,
                    "token": ticket.token,
                    "version": ticket.version,
                    "created_at": ticket.created_at,
                }
                for ticket in tickets
            ],
        )

    async def get(self, ticket_id: UUID) -> Ticket | None:
        row = await self._tx.first(select(_tickets).where(TicketRow.id == ticket_id))
        return _ticket(row._mapping) if row else None

    async def for_order(self, order_id: UUID) -> list[Ticket]:
        rows = await self._tx.rows(
            select(_tickets)
            .where(TicketRow.order_id == order_id)
            .order_by(TicketRow.created_at, TicketRow.id)
        )
        return [_ticket(row._mapping) for row in rows]

    async def void_for_order(self, order_id: UUID) -> int:
        result = await self._tx.execute(
            update(TicketRow)
            .where(TicketRow.order_id == order_id, TicketRow.status != TicketStatus.VOID.value)
            .values(status=TicketStatus.VOID.value)
        )
        return int(result.rowcount)

    async def check_in(self, check_in: CheckIn) -> CheckIn:
        won = await insert_unless_exists(
            self._tx,
            CheckInRow,
            {
                "id": check_in.id,
                "ticket_id": check_in.ticket_id,
                "event_id": check_in.event_id,
                "checked_in_at": check_in.checked_in_at,
                "scanned_by": check_in.scanned_by,
            },
            conflict_on=[CheckInRow.ticket_id],
        )
        if won:
            return check_in
        row = await self._tx.first(
            select(_check_ins).where(CheckInRow.ticket_id == check_in.ticket_id)
        )
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
    )


def _ticket(row: Any) -> Ticket:
    return Ticket(
        id=row["id"],
        order_id=row["order_id"],
        event_id=row["event_id"],
        ticket_type_id=row["ticket_type_id"],
        holder=row["holder"],
        status=TicketStatus(row["status"]),
        token=row["token"],
        version=row["version"],
        created_at=row["created_at"],
    )
