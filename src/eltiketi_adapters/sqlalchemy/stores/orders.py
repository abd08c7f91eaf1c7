"""Orders, their tickets and check-ins.

Every statement is built once, at import, with ``p_``-prefixed bind parameters
(never a column's name: SQLAlchemy would take those as SET/VALUES entries) and
executed with a dict: building a construct and its cache key on every call
costs more Python CPU than executing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import (
    Integer,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)

from eltiketi_adapters.sqlalchemy._tx import Tx
from eltiketi_adapters.sqlalchemy.dialects import insert_ignoring_conflict
from eltiketi_adapters.sqlalchemy.engine import json_text
from eltiketi_adapters.sqlalchemy.models import CheckInRow, OrderRow, TicketRow
from eltiketi_adapters.sqlalchemy.positional import PositionalSql, positional
from eltiketi_adapters.sqlalchemy.rows import from_row, row_values
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
from eltiketi_core.ports.stores import Attendee, OrderQuery, OrderTotals

_orders = OrderRow.__table__
_tickets = TicketRow.__table__
_check_ins = CheckInRow.__table__

_ADD_ORDER = insert_ignoring_conflict(OrderRow)
_ORDER_BY_ID = select(_orders).where(OrderRow.id == bindparam("p_id"))
_ORDER_COLUMNS = [column.key for column in _orders.c]
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
_TOTALS = (
    select(
        OrderRow.event_id,
        OrderRow.status,
        func.count(),
        func.coalesce(func.sum(OrderRow.total_amount), 0),
    )
    .where(OrderRow.event_id.in_(bindparam("p_event_ids", expanding=True)))
    .group_by(OrderRow.event_id, OrderRow.status)
)
#: The start of the UTC hour of ``created_at``: a naive UTC timestamp on PostgreSQL, text
#: (``YYYY-MM-DD HH:00:00``) on SQLite, where timestamps are stored as UTC text.
_HOUR_PG = func.date_trunc("hour", func.timezone("UTC", OrderRow.created_at))
_HOUR_SQLITE = func.strftime("%Y-%m-%d %H:00:00", OrderRow.created_at)


def _hourly(hour: Any) -> Any:
    return (
        select(hour.label("hour"), func.count())
        .where(
            OrderRow.event_id == bindparam("p_event_id"),
            OrderRow.created_at >= bindparam("p_since", type_=OrderRow.created_at.type),
        )
        .group_by(literal_column("hour"))
    )


_HOURLY_PG = _hourly(_HOUR_PG)
_HOURLY_SQLITE = _hourly(_HOUR_SQLITE)
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
#: PostgreSQL, for ``Tx.fetch_direct`` / ``execute_many_direct`` (the purchase journey:
#: confirmation and the e-ticket). A transition returns the id of the row it changed
#: instead of a rowcount.
_ADD_ORDER_PG = _ADD_ORDER.direct(_ORDER_COLUMNS)
_ORDER_BY_ID_PG = positional(_ORDER_BY_ID)
_ORDER_BY_REFERENCE_PG = positional(_ORDER_BY_REFERENCE)
_ORDER_FOR_BOOKING_PG = positional(_ORDER_FOR_BOOKING)
_TRANSITION_ORDER_PG = positional(_TRANSITION_ORDER.returning(OrderRow.id))
_MOVE_ORDER_STOCK_PG = positional(_MOVE_ORDER_STOCK.returning(OrderRow.id))
_ADD_TICKETS_PG = positional(_ADD_TICKETS.inline(), column_keys=[c.key for c in _tickets.c])
_TICKETS_FOR_ORDER_PG = positional(_TICKETS_FOR_ORDER)

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
_ADD_CHECK_IN = insert_ignoring_conflict(CheckInRow, [CheckInRow.ticket_id])
_CHECK_IN_OF_TICKET = select(_check_ins).where(CheckInRow.ticket_id == bindparam("p_ticket_id"))
_CHECK_INS_OF_ORDER = (
    select(_check_ins)
    .join(_tickets, TicketRow.id == CheckInRow.ticket_id)
    .where(TicketRow.order_id == bindparam("p_order_id"))
    .order_by(CheckInRow.checked_in_at, CheckInRow.ticket_id)
)
_CHECK_IN_COUNT = select(func.count()).where(CheckInRow.event_id == bindparam("p_event_id"))


def _attendees(*, after: bool, include_void: bool) -> Any:
    """A keyset page of an event's tickets (index ``ix_tickets_event_id_id``) with each
    one's order contact and check-in."""
    query = (
        select(
            TicketRow.id,
            TicketRow.order_id,
            TicketRow.ticket_type_id,
            TicketRow.holder,
            TicketRow.status,
            TicketRow.holder_name,
            OrderRow.contact_email,
            OrderRow.contact_phone,
            CheckInRow.checked_in_at,
        )
        .select_from(_tickets)
        .join(_orders, OrderRow.id == TicketRow.order_id)
        .outerjoin(_check_ins, CheckInRow.ticket_id == TicketRow.id)
        .where(TicketRow.event_id == bindparam("p_event_id"))
        .order_by(TicketRow.id)
        .limit(bindparam("p_limit", type_=Integer))
    )
    if after:
        query = query.where(TicketRow.id > bindparam("p_after", type_=TicketRow.id.type))
    if not include_void:
        query = query.where(TicketRow.status == TicketStatus.VALID.value)
    return query


_ATTENDEES = {
    (after, include_void): _attendees(after=after, include_void=include_void)
    for after in (False, True)
    for include_void in (False, True)
}


class SqlOrderStore:
    """:class:`~eltiketi_core.ports.OrderStore`; ``booking_id``, ``payment_id`` and
    ``reference`` are unique."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add(self, order: Order) -> bool:
        # No conflict target: a second order for the booking, the payment or the reference
        # is refused.
        values = {
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
        }
        if self._tx.is_postgres:
            # The items as JSON text, as the engine's serializer writes it.
            values["items"] = json_text(values["items"])
            if await self._tx.fetch_direct(_ADD_ORDER_PG, values):
                return True
        elif (await self._tx.execute(_ADD_ORDER.sqlite, values)).first() is not None:
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
        return await self._one(_ORDER_BY_ID, _ORDER_BY_ID_PG, {"p_id": order_id})

    async def by_reference(self, reference: str) -> Order | None:
        return await self._one(
            _ORDER_BY_REFERENCE, _ORDER_BY_REFERENCE_PG, {"p_reference": reference}
        )

    async def for_booking(self, booking_id: UUID) -> Order | None:
        return await self._one(
            _ORDER_FOR_BOOKING, _ORDER_FOR_BOOKING_PG, {"p_booking_id": booking_id}
        )

    async def _one(
        self, statement: Any, direct: PositionalSql, params: dict[str, Any]
    ) -> Order | None:
        """The order ``statement`` finds (``direct`` on PostgreSQL), if any."""
        row = await self._tx.first_mapping(statement, direct, params)
        return _order(row) if row is not None else None

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

    async def search(self, query: OrderQuery, *, limit: int, offset: int = 0) -> list[Order]:
        if not query.event_ids:
            return []
        statement = select(_orders).where(OrderRow.event_id.in_(query.event_ids))
        if query.status is not None:
            statement = statement.where(OrderRow.status == query.status.value)
        criteria: list[Any] = []
        if query.reference is not None:
            criteria.append(OrderRow.reference == query.reference)
        if query.id_prefix is not None:
            # A prefix of the id is a range of ids: PostgreSQL and SQLite both order
            # uuids by their bytes.
            low, high = _id_range(query.id_prefix)
            criteria.append(OrderRow.id.between(low, high))
        if query.text:
            pattern = f"%{_escape_like(query.text.lower())}%"
            criteria += [
                func.lower(column).like(pattern, escape="\\")
                for column in (OrderRow.contact_email, OrderRow.contact_phone, OrderRow.buyer)
            ]
            criteria.append(  # a name on one of its tickets (ix_tickets_order_id)
                exists().where(
                    TicketRow.order_id == OrderRow.id,
                    func.lower(TicketRow.holder_name).like(pattern, escape="\\"),
                )
            )
        if criteria:
            statement = statement.where(or_(*criteria))
        statement = (
            statement.order_by(OrderRow.created_at.desc(), OrderRow.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [_order(row._mapping) for row in await self._tx.rows(statement)]

    async def totals(self, event_ids: Sequence[UUID]) -> dict[UUID, OrderTotals]:
        if not event_ids:
            return {}
        sums: dict[UUID, dict[str, int]] = {}
        for event_id, status, count, amount in await self._tx.rows(
            _TOTALS, {"p_event_ids": list(dict.fromkeys(event_ids))}
        ):
            row = sums.setdefault(event_id, {})
            row[status] = int(count)
            row[f"{status}_amount"] = int(amount)
        return {
            event_id: OrderTotals(
                event_id=event_id,
                confirmed=row.get(OrderStatus.CONFIRMED.value, 0),
                refunded=row.get(OrderStatus.REFUNDED.value, 0),
                confirmed_amount=row.get(f"{OrderStatus.CONFIRMED.value}_amount", 0),
                refunded_amount=row.get(f"{OrderStatus.REFUNDED.value}_amount", 0),
            )
            for event_id, row in sums.items()
        }

    async def hourly_counts(self, event_id: UUID, *, since: datetime) -> dict[datetime, int]:
        statement = _HOURLY_PG if self._tx.is_postgres else _HOURLY_SQLITE
        rows = await self._tx.rows(statement, {"p_event_id": event_id, "p_since": since})
        return {_utc_hour(hour): int(count) for hour, count in rows}

    async def transition(self, order_id: UUID, expected: OrderStatus, new: OrderStatus) -> bool:
        params = {"p_id": order_id, "p_expected": expected.value, "p_new": new.value}
        return await self._tx.changed_one(_TRANSITION_ORDER, _TRANSITION_ORDER_PG, params)

    async def move_stock(self, order_id: UUID, expected: StockState, new: StockState) -> bool:
        params = {"p_id": order_id, "p_expected": expected.value, "p_new": new.value}
        return await self._tx.changed_one(_MOVE_ORDER_STOCK, _MOVE_ORDER_STOCK_PG, params)


class SqlTicketStore:
    """:class:`~eltiketi_core.ports.TicketStore`; a check-in's primary key is the ticket id."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add_many(self, tickets: Sequence[Ticket]) -> None:
        if not tickets:
            return
        rows = [row_values(ticket) for ticket in tickets]
        if self._tx.is_postgres:
            await self._tx.execute_many_direct(_ADD_TICKETS_PG, rows)
            return
        await self._tx.execute(_ADD_TICKETS, rows)

    async def get(self, ticket_id: UUID) -> Ticket | None:
        row = (await self._tx.execute(_TICKET_BY_ID, {"p_id": ticket_id})).first()
        return from_row(Ticket, row._mapping) if row else None

    async def for_order(self, order_id: UUID) -> list[Ticket]:
        params = {"p_order_id": order_id}
        if self._tx.is_postgres:
            found = await self._tx.fetch_direct(_TICKETS_FOR_ORDER_PG, params)
            return [from_row(Ticket, row) for row in found]
        rows = (await self._tx.execute(_TICKETS_FOR_ORDER, params)).all()
        return [from_row(Ticket, row._mapping) for row in rows]

    async def get_locked(self, ticket_id: UUID) -> Ticket | None:
        # SQLite has no row locks: BEGIN IMMEDIATE already runs one writer at a time.
        statement = _TICKET_BY_ID_LOCKED if self._tx.is_postgres else _TICKET_BY_ID
        row = (await self._tx.execute(statement, {"p_id": ticket_id})).first()
        return from_row(Ticket, row._mapping) if row else None

    async def checked_in_count(self, order_id: UUID) -> int:
        row = await self._tx.first(_CHECKED_IN_OF_ORDER, {"p_order_id": order_id})
        return int(row[0]) if row else 0

    async def void_for_order(self, order_id: UUID) -> int:
        result = await self._tx.execute(_VOID_TICKETS_OF_ORDER, {"p_order_id": order_id})
        return int(result.rowcount)

    async def check_in(self, check_in: CheckIn) -> CheckIn:
        inserted = await self._tx.execute(_ADD_CHECK_IN.on(self._tx), row_values(check_in))
        if inserted.first() is not None:
            return check_in
        found = await self._tx.execute(_CHECK_IN_OF_TICKET, {"p_ticket_id": check_in.ticket_id})
        row = found.first()
        if row is None:  # pragma: no cover - the conflicting row cannot vanish (no deletes)
            raise RuntimeError(f"check-in of {check_in.ticket_id} conflicted but is missing")
        return from_row(CheckIn, row._mapping)

    async def check_ins_for_order(self, order_id: UUID) -> list[CheckIn]:
        rows = await self._tx.rows(_CHECK_INS_OF_ORDER, {"p_order_id": order_id})
        return [from_row(CheckIn, row._mapping) for row in rows]

    async def check_in_count(self, event_id: UUID) -> int:
        row = await self._tx.first(_CHECK_IN_COUNT, {"p_event_id": event_id})
        return int(row[0]) if row is not None else 0

    async def attendees(
        self, event_id: UUID, *, after: UUID | None, limit: int, include_void: bool = False
    ) -> list[Attendee]:
        params: dict[str, Any] = {"p_event_id": event_id, "p_limit": limit}
        if after is not None:
            params["p_after"] = after
        rows = await self._tx.rows(_ATTENDEES[(after is not None, include_void)], params)
        return [
            Attendee(
                ticket_id=ticket_id,
                order_id=order_id,
                ticket_type_id=ticket_type_id,
                holder=holder,
                status=TicketStatus(status),
                holder_name=holder_name,
                email=email,
                phone=phone,
                checked_in_at=checked_in_at,
            )
            for (
                ticket_id,
                order_id,
                ticket_type_id,
                holder,
                status,
                holder_name,
                email,
                phone,
                checked_in_at,
            ) in rows
        ]


def _id_range(prefix: str) -> tuple[UUID, UUID]:
    """The lowest and highest uuid whose 32 hex digits start with ``prefix``."""
    return UUID(hex=prefix.ljust(32, "0")), UUID(hex=prefix.ljust(32, "f"))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _utc_hour(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


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
