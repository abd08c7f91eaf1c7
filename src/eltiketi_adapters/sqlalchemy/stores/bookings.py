"""Holds: the booking rows, their items, the expiry sweep and the per-buyer count."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    any_,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID

from eltiketi_adapters.sqlalchemy._tx import Tx
from eltiketi_adapters.sqlalchemy.engine import json_text
from eltiketi_adapters.sqlalchemy.models import (
    BookingAllocationRow,
    BookingItemRow,
    BookingRow,
    InventoryShardRow,
    OrderRow,
)
from eltiketi_adapters.sqlalchemy.positional import positional
from eltiketi_core.domain.booking import Booking, BookingItem, BookingStatus, Contact
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.order import OrderStatus

_items_order = (BookingItemRow.booking_id, BookingItemRow.position)

# Statements are built once: building one and its cache key costs more CPU than running it.
_bookings = BookingRow.__table__
_items = BookingItemRow.__table__

_INSERT_BOOKING = insert(BookingRow)
_ANY_FOR_EVENT = select(exists().where(BookingRow.event_id == bindparam("p_event_id")))
_INSERT_ITEMS = insert(BookingItemRow)


def _insert_booking_with_items() -> Any:
    """PostgreSQL: the booking row and its items in one statement (one round trip).

    The items arrive as parallel arrays; ``WITH ORDINALITY`` numbers them from 1.
    The foreign key of the items is checked at the end of the statement, when the
    booking row of the CTE exists.
    """
    booking = (
        insert(BookingRow)
        .values(
            {
                column.key: bindparam(f"p_{column.key}", type_=column.type)
                for column in _bookings.columns
            }
        )
        .cte("booking")
    )
    unnested = (
        func.unnest(
            bindparam("p_item_types", type_=ARRAY(PG_UUID(as_uuid=True))),
            bindparam("p_item_quantities", type_=ARRAY(Integer)),
            bindparam("p_item_amounts", type_=ARRAY(_items.c.unit_price_amount.type)),
            bindparam("p_item_currencies", type_=ARRAY(_items.c.unit_price_currency.type)),
        )
        .table_valued(
            "ticket_type_id", "quantity", "amount", "currency", with_ordinality="position"
        )
        .render_derived(name="item")
    )
    return (
        insert(BookingItemRow)
        .from_select(
            [
                "booking_id",
                "position",
                "ticket_type_id",
                "quantity",
                "unit_price_amount",
                "unit_price_currency",
            ],
            select(
                bindparam("p_id", type_=_bookings.c.id.type),
                unnested.c.position - 1,
                unnested.c.ticket_type_id,
                unnested.c.quantity,
                unnested.c.amount,
                unnested.c.currency,
            ),
        )
        .add_cte(booking)
    )


_INSERT_BOOKING_WITH_ITEMS_PG = positional(_insert_booking_with_items())
#: PostgreSQL, for :meth:`Tx.execute_many_direct`: a parameter per column, named after it.
_INSERT_BOOKING_PG = positional(
    insert(BookingRow).inline(), column_keys=[column.key for column in _bookings.columns]
)
_INSERT_ITEMS_PG = positional(
    insert(BookingItemRow).inline(), column_keys=[column.key for column in _items.columns]
)
#: One booking and its items in one round trip: a row per item, the booking's columns
#: repeated (bookings have a handful of items).
_BOOKING_WITH_ITEMS = (
    select(
        _bookings,
        _items.c.ticket_type_id.label("item_ticket_type_id"),
        _items.c.quantity.label("item_quantity"),
        _items.c.unit_price_amount.label("item_unit_price_amount"),
        _items.c.unit_price_currency.label("item_unit_price_currency"),
    )
    .select_from(_bookings.outerjoin(_items, _items.c.booking_id == _bookings.c.id))
    .where(_bookings.c.id == bindparam("p_id"))
    .order_by(_items.c.position)
)
_ITEMS_OF = (
    select(_items)
    .where(_items.c.booking_id.in_(bindparam("p_ids", expanding=True)))
    .order_by(*_items_order)
)
_TRANSITION = (
    update(BookingRow)
    .where(BookingRow.id == bindparam("p_id"), BookingRow.status == bindparam("p_expected"))
    .values(status=bindparam("p_new"))
)
#: PostgreSQL (payment start, confirmation and the e-ticket read the booking), for
#: ``Tx.fetch_direct``: a transition returns the id it changed instead of a rowcount.
_BOOKING_WITH_ITEMS_PG = positional(_BOOKING_WITH_ITEMS)
_TRANSITION_PG = positional(_TRANSITION.returning(BookingRow.id))
_SET_CONTACT = (
    update(BookingRow)
    .where(BookingRow.id == bindparam("p_id"), BookingRow.status == BookingStatus.HELD.value)
    .values(contact_email=bindparam("p_email"), contact_phone=bindparam("p_phone"))
)
_ENDED_UNPAID = (BookingStatus.EXPIRED.value, BookingStatus.CANCELLED.value)
#: PostgreSQL: a list of buyers as one array parameter (the text never changes with it).
_BUYERS_ARRAY = bindparam("p_buyers", type_=ARRAY(String))
_END = (
    update(BookingRow)
    .where(BookingRow.id == bindparam("p_id"), BookingRow.status == BookingStatus.HELD.value)
    .values(status=bindparam("p_new"), ended_at=bindparam("p_at"))
)
_ENDED_UNPAID_SINCE = (
    select(BookingRow.ended_at)
    .where(
        BookingRow.buyer == bindparam("p_buyer"),
        BookingRow.event_id == bindparam("p_event_id"),
        BookingRow.status.in_(_ENDED_UNPAID),
        BookingRow.ended_at >= bindparam("p_since"),
    )
    .order_by(BookingRow.ended_at.desc())
    .limit(bindparam("p_limit", type_=Integer))
)


def _ended_unpaid_of_statement(buyer_matches: Any) -> Any:
    """Several buyers at once (a group commit): each one's newest ``p_limit``."""
    ranked = (
        select(
            BookingRow.buyer,
            BookingRow.ended_at,
            func.row_number()
            .over(partition_by=BookingRow.buyer, order_by=BookingRow.ended_at.desc())
            .label("newest"),
        )
        .where(
            buyer_matches,
            BookingRow.event_id == bindparam("p_event_id"),
            BookingRow.status.in_(_ENDED_UNPAID),
            BookingRow.ended_at >= bindparam("p_since"),
        )
        .subquery()
    )
    return (
        select(ranked.c.buyer, ranked.c.ended_at)
        .where(ranked.c.newest <= bindparam("p_limit", type_=Integer))
        .order_by(ranked.c.buyer, ranked.c.ended_at.desc())
    )


_ENDED_UNPAID_OF = _ended_unpaid_of_statement(
    BookingRow.buyer.in_(bindparam("p_buyers", expanding=True))
)
#: PostgreSQL, for :meth:`Tx.fetch_direct`: the buyers as one array parameter.
_ENDED_UNPAID_OF_PG = positional(
    _ended_unpaid_of_statement(BookingRow.buyer == any_(_BUYERS_ARRAY))
)
_SET_HOLDERS = (
    update(BookingRow)
    .where(BookingRow.id == bindparam("p_id"), BookingRow.status == BookingStatus.HELD.value)
    .values(holders=bindparam("p_holders", type_=_bookings.c.holders.type))
)


def _active_quantity_statement(*, per_buyer: bool, buyers_array: bool = False) -> Any:
    """Tickets held (unexpired) or bought (unrefunded) for an event: of one buyer, or
    of each of several (``GROUP BY buyer``; ``buyers_array``: PostgreSQL's ``= ANY``)."""
    counted = or_(
        and_(
            BookingRow.status == BookingStatus.HELD.value,
            BookingRow.expires_at > bindparam("p_now"),
        ),
        and_(
            BookingRow.status == BookingStatus.CONFIRMED.value,
            ~exists().where(
                OrderRow.booking_id == BookingRow.id,
                OrderRow.status == OrderStatus.REFUNDED.value,
            ),
        ),
    )
    total = func.coalesce(func.sum(BookingItemRow.quantity), 0)
    query = (
        (select(BookingRow.buyer, total) if per_buyer else select(total))
        .select_from(BookingItemRow)
        .join(BookingRow, BookingRow.id == BookingItemRow.booking_id)
    )
    if per_buyer:
        buyer_matches = (
            BookingRow.buyer == any_(_BUYERS_ARRAY)
            if buyers_array
            else BookingRow.buyer.in_(bindparam("p_buyers", expanding=True))
        )
        return query.where(
            buyer_matches,
            BookingRow.event_id == bindparam("p_event_id"),
            counted,
        ).group_by(BookingRow.buyer)
    return query.where(
        BookingRow.buyer == bindparam("p_buyer"),
        BookingRow.event_id == bindparam("p_event_id"),
        counted,
    )


_ACTIVE_QUANTITY = _active_quantity_statement(per_buyer=False)
_ACTIVE_QUANTITIES = _active_quantity_statement(per_buyer=True)
_ACTIVE_QUANTITIES_PG = positional(_active_quantity_statement(per_buyer=True, buyers_array=True))


class SqlBookingStore:
    """:class:`~eltiketi_core.ports.BookingStore` over ``bookings`` and ``booking_items``."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add(self, booking: Booking) -> None:
        row = _booking_row(booking)
        if self._tx.is_postgres and booking.items:
            params = {f"p_{key}": value for key, value in row.items()}
            params["p_holders"] = json_text(row["holders"])
            params["p_item_types"] = [item.ticket_type_id for item in booking.items]
            params["p_item_quantities"] = [item.quantity for item in booking.items]
            params["p_item_amounts"] = [item.unit_price.amount for item in booking.items]
            params["p_item_currencies"] = [item.unit_price.currency for item in booking.items]
            await self._tx.fetch_direct(_INSERT_BOOKING_WITH_ITEMS_PG, params)
            return
        await self._tx.execute(_INSERT_BOOKING, row)
        if booking.items:
            await self._tx.execute(_INSERT_ITEMS, _item_rows([booking]))

    async def add_many(self, bookings: Sequence[Booking]) -> None:
        """One booking: :meth:`add`. Several: the booking rows in one multi-row
        ``INSERT``, then all their items in another."""
        if len(bookings) == 1:
            await self.add(bookings[0])
            return
        if not bookings:
            return
        rows = [_booking_row(b) for b in bookings]
        if self._tx.is_postgres:
            for row in rows:
                row["holders"] = json_text(row["holders"])
            await self._tx.execute_many_direct(_INSERT_BOOKING_PG, rows)
        else:
            await self._tx.execute(_INSERT_BOOKING, rows)
        items = _item_rows(bookings)
        if items and self._tx.is_postgres:
            await self._tx.execute_many_direct(_INSERT_ITEMS_PG, items)
        elif items:
            await self._tx.execute(_INSERT_ITEMS, items)

    async def get(self, booking_id: UUID) -> Booking | None:
        params = {"p_id": booking_id}
        rows: Sequence[Any] = (
            await self._tx.fetch_direct(_BOOKING_WITH_ITEMS_PG, params)
            if self._tx.is_postgres
            else [row._mapping for row in await self._tx.rows(_BOOKING_WITH_ITEMS, params)]
        )
        if not rows:
            return None
        items = tuple(
            BookingItem(
                ticket_type_id=row["item_ticket_type_id"],
                quantity=row["item_quantity"],
                unit_price=Money(row["item_unit_price_amount"], row["item_unit_price_currency"]),
            )
            for row in rows
            if row["item_ticket_type_id"] is not None
        )
        return _booking(rows[0], items)

    async def transition(
        self, booking_id: UUID, expected: BookingStatus, new: BookingStatus
    ) -> bool:
        params = {"p_id": booking_id, "p_expected": expected.value, "p_new": new.value}
        return await self._tx.changed_one(_TRANSITION, _TRANSITION_PG, params)

    async def set_contact(self, booking_id: UUID, contact: Contact) -> bool:
        result = await self._tx.execute(
            _SET_CONTACT, {"p_id": booking_id, "p_email": contact.email, "p_phone": contact.phone}
        )
        return bool(result.rowcount == 1)

    async def end(self, booking_id: UUID, new: BookingStatus, *, at: datetime) -> bool:
        if new.value not in _ENDED_UNPAID:
            raise ValueError(f"a hold ends expired or cancelled, not {new.value}")
        result = await self._tx.execute(_END, {"p_id": booking_id, "p_new": new.value, "p_at": at})
        return bool(result.rowcount == 1)

    async def ended_unpaid(
        self, buyer: str, event_id: UUID, *, since: datetime, limit: int
    ) -> list[datetime]:
        rows = await self._tx.rows(
            _ENDED_UNPAID_SINCE,
            {"p_buyer": buyer, "p_event_id": event_id, "p_since": since, "p_limit": limit},
        )
        return [row[0] for row in rows]

    async def ended_unpaid_of(
        self, buyers: Collection[str], event_id: UUID, *, since: datetime, limit: int
    ) -> dict[str, list[datetime]]:
        if not buyers:
            return {}
        found: dict[str, list[datetime]] = defaultdict(list)
        params = {
            "p_buyers": sorted(set(buyers)),
            "p_event_id": event_id,
            "p_since": since,
            "p_limit": limit,
        }
        rows: Sequence[Any] = (
            await self._tx.fetch_direct(_ENDED_UNPAID_OF_PG, params)
            if self._tx.is_postgres
            else await self._tx.rows(_ENDED_UNPAID_OF, params)
        )
        for buyer, ended_at in rows:
            found[buyer].append(ended_at)
        return dict(found)

    async def set_holders(self, booking_id: UUID, holders: tuple[str, ...]) -> bool:
        result = await self._tx.execute(
            _SET_HOLDERS, {"p_id": booking_id, "p_holders": list(holders)}
        )
        return bool(result.rowcount == 1)

    async def claim_expired(
        self, now: datetime, *, limit: int, ticket_type_id: UUID | None = None
    ) -> list[Booking]:
        query = (
            select(BookingRow.__table__)
            .where(BookingRow.status == BookingStatus.HELD.value, BookingRow.expires_at <= now)
            .order_by(BookingRow.expires_at, BookingRow.id)
            .limit(limit)
        )
        if ticket_type_id is not None:
            query = query.where(
                exists().where(
                    BookingItemRow.booking_id == BookingRow.id,
                    BookingItemRow.ticket_type_id == ticket_type_id,
                )
            )
        if self._tx.is_postgres:
            # Rows another sweeper holds are skipped, not waited for; a row that
            # changed status meanwhile is re-checked by PostgreSQL and left out.
            query = query.with_for_update(skip_locked=True)
        claimed = await self._load(query)
        if claimed and self._tx.is_postgres:
            claimed = await self._lock_shards_of(claimed)
        return claimed

    async def _lock_shards_of(self, claimed: list[Booking]) -> list[Booking]:
        """Lock the shards the claimed holds will give stock back to, in one global order.

        Releasing a batch booking by booking would lock shards in whatever order
        the bookings come, and a buyer taking the same shards in ticket-type
        order could then deadlock with the sweeper. So they are locked here,
        sorted by (ticket type, shard), and a transaction only *waits* for shards
        above the highest it may already hold. Shards at or below it (a buyer
        releasing expired holds in the middle of its own reservation) are taken
        only if free right now (``SKIP LOCKED``); a hold with a busy one is left
        for the sweeper, which starts with no locks and may wait.
        """
        rows = await self._tx.rows(
            select(
                BookingAllocationRow.booking_id,
                BookingAllocationRow.ticket_type_id,
                BookingAllocationRow.shard_no,
            ).where(BookingAllocationRow.booking_id.in_([b.id for b in claimed]))
        )
        needs: dict[UUID, set[tuple[UUID, int]]] = defaultdict(set)
        for booking_id, ticket_type_id, shard_no in rows:
            needs[booking_id].add((ticket_type_id, shard_no))
        shards = sorted(set().union(*needs.values())) if needs else []
        ceiling = self._tx.highest_shard_lock
        below = [key for key in shards if ceiling is not None and key <= ceiling]
        above = [key for key in shards if ceiling is None or key > ceiling]
        busy: set[tuple[UUID, int]] = set()
        if below:
            got = {
                (row[0], row[1])
                for row in await self._tx.rows(
                    _lock_shards(below).with_for_update(key_share=True, skip_locked=True)
                )
            }
            busy = set(below) - got
        if above:
            await self._tx.execute(_lock_shards(above).with_for_update(key_share=True))
            self._tx.note_shard_lock(*above[-1])
        return [booking for booking in claimed if not needs[booking.id] & busy]

    async def active_quantity(self, buyer: str, event_id: UUID, now: datetime) -> int:
        # Exact against this buyer's other sales once the sale is open (CatalogStore
        # open_for_sale takes the buyer's lock first).
        row = await self._tx.first(
            _ACTIVE_QUANTITY, {"p_buyer": buyer, "p_event_id": event_id, "p_now": now}
        )
        return int(row[0]) if row else 0

    async def active_quantities(
        self, buyers: Collection[str], event_id: UUID, now: datetime
    ) -> dict[str, int]:
        if not buyers:
            return {}
        counted = dict.fromkeys(buyers, 0)
        params = {"p_buyers": sorted(counted), "p_event_id": event_id, "p_now": now}
        rows: Sequence[Any] = (
            await self._tx.fetch_direct(_ACTIVE_QUANTITIES_PG, params)
            if self._tx.is_postgres
            else await self._tx.rows(_ACTIVE_QUANTITIES, params)
        )
        counted.update({row[0]: int(row[1]) for row in rows})
        return counted

    async def held_for_event(self, event_id: UUID, *, limit: int) -> list[Booking]:
        return await self._load(
            select(BookingRow.__table__)
            .where(BookingRow.event_id == event_id, BookingRow.status == BookingStatus.HELD.value)
            .order_by(BookingRow.created_at, BookingRow.id)
            .limit(limit)
        )

    async def any_for_event(self, event_id: UUID) -> bool:
        found = await self._tx.first(_ANY_FOR_EVENT, {"p_event_id": event_id})
        return bool(found is not None and found[0])

    async def _load(self, query: Any, params: dict[str, Any] | None = None) -> list[Booking]:
        """Bookings selected by ``query`` (in its order) with their items, in two statements."""
        rows = [row._mapping for row in await self._tx.rows(query, params)]
        if not rows:
            return []
        items: dict[UUID, list[BookingItem]] = defaultdict(list)
        for item in await self._tx.rows(_ITEMS_OF, {"p_ids": [row["id"] for row in rows]}):
            items[item.booking_id].append(
                BookingItem(
                    ticket_type_id=item.ticket_type_id,
                    quantity=item.quantity,
                    unit_price=Money(item.unit_price_amount, item.unit_price_currency),
                )
            )
        return [_booking(row, tuple(items[row["id"]])) for row in rows]


def _lock_shards(keys: Sequence[tuple[UUID, int]]) -> Select[UUID, int]:
    """``SELECT`` of these shards in (ticket type, shard) order, ready for a locking clause."""
    return (
        select(InventoryShardRow.ticket_type_id, InventoryShardRow.shard_no)
        .where(tuple_(InventoryShardRow.ticket_type_id, InventoryShardRow.shard_no).in_(list(keys)))
        .order_by(InventoryShardRow.ticket_type_id, InventoryShardRow.shard_no)
    )


def _item_rows(bookings: Sequence[Booking]) -> list[dict[str, Any]]:
    """``booking_items`` rows of ``bookings``, numbered from 0 within each booking."""
    return [
        {
            "booking_id": booking.id,
            "position": position,
            "ticket_type_id": item.ticket_type_id,
            "quantity": item.quantity,
            "unit_price_amount": item.unit_price.amount,
            "unit_price_currency": item.unit_price.currency,
        }
        for booking in bookings
        for position, item in enumerate(booking.items)
    ]


def _booking_row(booking: Booking) -> dict[str, Any]:
    return {
        "id": booking.id,
        "event_id": booking.event_id,
        "buyer": booking.buyer,
        "contact_email": booking.contact.email,
        "contact_phone": booking.contact.phone,
        "total_amount": booking.total.amount,
        "total_currency": booking.total.currency,
        "status": booking.status.value,
        "created_at": booking.created_at,
        "expires_at": booking.expires_at,
        "ended_at": None,
        "holders": list(booking.holders),
        "locale": booking.locale,
    }


def _booking(row: Any, items: tuple[BookingItem, ...]) -> Booking:
    return Booking(
        id=row["id"],
        event_id=row["event_id"],
        buyer=row["buyer"],
        contact=Contact(email=row["contact_email"], phone=row["contact_phone"]),
        items=items,
        total=Money(row["total_amount"], row["total_currency"]),
        status=BookingStatus(row["status"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        holders=tuple(row["holders"] or ()),
        locale=row["locale"],
    )
