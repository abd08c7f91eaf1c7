"""Events and ticket types, and the creation of a ticket type's inventory shards."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, any_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID

from eltiketi_adapters.sqlalchemy._tx import Tx
from eltiketi_adapters.sqlalchemy.models import EventRow, InventoryShardRow, TicketTypeRow
from eltiketi_adapters.sqlalchemy.positional import positional
from eltiketi_adapters.sqlalchemy.stores import locks
from eltiketi_core.domain.catalog import Event, EventStatus, TicketType
from eltiketi_core.domain.money import Money

_events = EventRow.__table__
_types = TicketTypeRow.__table__
_type_columns = [column.label(f"tt_{column.key}") for column in _types.columns]

_EVENT = select(_events).where(_events.c.id == bindparam("p_event_id"))
_TICKET_TYPE = select(_types).where(_types.c.id == bindparam("p_type_id"))
_TICKET_TYPES = (
    select(_types)
    .where(_types.c.event_id == bindparam("p_event_id"))
    .order_by(_types.c.position, _types.c.id)
)
_SET_STATUS = (
    update(EventRow)
    .where(EventRow.id == bindparam("p_event_id"))
    .values(status=bindparam("p_status"))
)
_UPDATE_EVENT = (
    update(EventRow)
    .where(EventRow.id == bindparam("p_event_id"))
    .values(
        name=bindparam("p_name"),
        venue=bindparam("p_venue"),
        starts_at=bindparam("p_starts_at", type_=EventRow.starts_at.type),
        timezone=bindparam("p_timezone"),
        locale=bindparam("p_locale"),
        currency=bindparam("p_currency"),
        description=bindparam("p_description"),
    )
)
_UPDATE_TICKET_TYPE = (
    update(TicketTypeRow)
    .where(TicketTypeRow.id == bindparam("p_type_id"))
    .values(
        name=bindparam("p_name"),
        price_amount=bindparam("p_price_amount"),
        price_currency=bindparam("p_price_currency"),
        max_per_booking=bindparam("p_max_per_booking"),
        sales_start=bindparam("p_sales_start", type_=TicketTypeRow.sales_start.type),
        sales_end=bindparam("p_sales_end", type_=TicketTypeRow.sales_end.type),
    )
)


def _event_for_sale(type_id_matches: Any) -> Any:
    """The event's row, joined to each of the wanted ticket types it has (if any)."""
    return (
        select(_events, *_type_columns)
        .select_from(
            _events.outerjoin(_types, and_(_types.c.event_id == _events.c.id, type_id_matches))
        )
        .where(_events.c.id == bindparam("p_event_id"))
    )


_EVENT_FOR_SALE = _event_for_sale(_types.c.id.in_(bindparam("p_type_ids", expanding=True)))
#: PostgreSQL: one array parameter, so the statement text never changes with the count.
_EVENT_FOR_SALE_PG = positional(
    _event_for_sale(
        _types.c.id == any_(bindparam("p_type_ids", type_=ARRAY(PG_UUID(as_uuid=True))))
    )
)


def split_capacity(capacity: int, shards: int) -> list[int]:
    """Spread ``capacity`` over ``shards`` rows as evenly as possible (first rows get the rest)."""
    base, rest = divmod(capacity, shards)
    return [base + (1 if shard_no < rest else 0) for shard_no in range(shards)]


class SqlCatalogStore:
    """:class:`~eltiketi_core.ports.CatalogStore` over the ``events`` and ``ticket_types`` tables."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add_event(self, event: Event) -> None:
        await self._tx.execute(
            insert(EventRow).values(
                id=event.id,
                owner=event.owner,
                organization_id=event.organization_id,
                name=event.name,
                venue=event.venue,
                starts_at=event.starts_at,
                timezone=event.timezone,
                locale=event.locale,
                currency=event.currency,
                status=event.status.value,
                created_at=event.created_at,
                description=event.description,
            )
        )

    async def get_event(self, event_id: UUID) -> Event | None:
        row = await self._tx.first(_EVENT, {"p_event_id": event_id})
        return _event(row._mapping) if row else None

    async def update_event(self, event: Event) -> None:
        await self._wait_for_sales(event.id)
        await self._tx.execute(
            _UPDATE_EVENT,
            {
                "p_event_id": event.id,
                "p_name": event.name,
                "p_venue": event.venue,
                "p_starts_at": event.starts_at,
                "p_timezone": event.timezone,
                "p_locale": event.locale,
                "p_currency": event.currency,
                "p_description": event.description,
            },
        )

    async def open_for_sale(
        self,
        event_id: UUID,
        ticket_type_ids: Sequence[UUID],
        *,
        buyer: str | None,
        more_buyers: Collection[str] = (),
    ) -> tuple[Event, dict[UUID, TicketType]] | None:
        if self._tx.is_postgres:
            # A statement of its own: under READ COMMITTED the reads after it must take
            # their snapshots once the locks are ours, or they could miss what committed
            # while we waited. (SQLite: BEGIN IMMEDIATE already serialises everything.)
            if more_buyers:
                buyers = {*more_buyers, *([buyer] if buyer is not None else [])}
                await self._tx.fetch_direct(
                    locks.OPEN_SALE_MANY_PG, locks.batch_lock_params(event_id, sorted(buyers))
                )
            else:
                await self._tx.fetch_direct(
                    locks.SHARE_EVENT_PG if buyer is None else locks.OPEN_SALE_PG,
                    locks.sale_lock_params(event_id, buyer),
                )
            found: Sequence[Any] = await self._tx.fetch_direct(
                _EVENT_FOR_SALE_PG, {"p_event_id": event_id, "p_type_ids": list(ticket_type_ids)}
            )
        else:
            found = [
                row._mapping
                for row in await self._tx.rows(
                    _EVENT_FOR_SALE,
                    {"p_event_id": event_id, "p_type_ids": list(ticket_type_ids)},
                )
            ]
        if not found:
            return None
        types: dict[UUID, TicketType] = {}
        for values in found:
            if values["tt_id"] is not None:
                ticket_type = _ticket_type(values, prefix="tt_")
                types[ticket_type.id] = ticket_type
                self._tx.shard_counts.put(ticket_type.id, ticket_type.shards)
        return _event(found[0]), types

    async def set_event_status(self, event_id: UUID, status: EventStatus) -> None:
        await self._wait_for_sales(event_id)
        await self._tx.execute(_SET_STATUS, {"p_event_id": event_id, "p_status": status.value})

    async def _wait_for_sales(self, event_id: UUID) -> None:
        """PostgreSQL: the event's exclusive lock, so sales in flight finish first and new
        ones wait for this transaction (SQLite: BEGIN IMMEDIATE serialises anyway)."""
        if self._tx.is_postgres:
            await self._tx.execute(locks.CHANGE_EVENT, {"p_event_key": str(event_id)})

    async def list_events(
        self,
        *,
        statuses: frozenset[EventStatus] | None = None,
        organizations: Collection[UUID] | None = None,
        starts_after: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Event]:
        query = select(EventRow.__table__)
        if statuses is not None:
            query = query.where(EventRow.status.in_(sorted(s.value for s in statuses)))
        if organizations is not None:
            if not organizations:
                return []
            query = query.where(EventRow.organization_id.in_(sorted(set(organizations))))
        if starts_after is not None:
            query = query.where(EventRow.starts_at > starts_after)
        query = query.order_by(EventRow.starts_at, EventRow.id).limit(limit).offset(offset)
        return [_event(row._mapping) for row in await self._tx.rows(query)]

    async def add_ticket_type(self, ticket_type: TicketType) -> None:
        next_position = (
            select(func.coalesce(func.max(TicketTypeRow.position), 0) + 1)
            .where(TicketTypeRow.event_id == ticket_type.event_id)
            .scalar_subquery()
        )
        await self._tx.execute(
            insert(TicketTypeRow).values(
                id=ticket_type.id,
                event_id=ticket_type.event_id,
                position=next_position,
                name=ticket_type.name,
                price_amount=ticket_type.price.amount,
                price_currency=ticket_type.price.currency,
                capacity=ticket_type.capacity,
                max_per_booking=ticket_type.max_per_booking,
                shards=ticket_type.shards,
                sales_start=ticket_type.sales_start,
                sales_end=ticket_type.sales_end,
            )
        )
        await self._tx.execute(
            insert(InventoryShardRow),
            [
                {
                    "ticket_type_id": ticket_type.id,
                    "shard_no": shard_no,
                    "capacity": capacity,
                    "held": 0,
                    "sold": 0,
                }
                for shard_no, capacity in enumerate(
                    split_capacity(ticket_type.capacity, ticket_type.shards)
                )
            ],
        )
        self._tx.shard_counts.put(ticket_type.id, ticket_type.shards)

    async def get_ticket_type(self, ticket_type_id: UUID) -> TicketType | None:
        row = await self._tx.first(_TICKET_TYPE, {"p_type_id": ticket_type_id})
        if row is None:
            return None
        ticket_type = _ticket_type(row._mapping)
        self._tx.shard_counts.put(ticket_type.id, ticket_type.shards)
        return ticket_type

    async def update_ticket_type(self, ticket_type: TicketType) -> None:
        event_id = await self._tx.first(
            select(TicketTypeRow.event_id).where(TicketTypeRow.id == ticket_type.id)
        )
        if event_id is None:
            return
        await self._wait_for_sales(event_id[0])
        await self._tx.execute(
            _UPDATE_TICKET_TYPE,
            {
                "p_type_id": ticket_type.id,
                "p_name": ticket_type.name,
                "p_price_amount": ticket_type.price.amount,
                "p_price_currency": ticket_type.price.currency,
                "p_max_per_booking": ticket_type.max_per_booking,
                "p_sales_start": ticket_type.sales_start,
                "p_sales_end": ticket_type.sales_end,
            },
        )

    async def ticket_types(self, event_id: UUID) -> list[TicketType]:
        rows = await self._tx.rows(_TICKET_TYPES, {"p_event_id": event_id})
        return [_ticket_type(row._mapping) for row in rows]


def _event(row: Any) -> Event:
    return Event(
        id=row["id"],
        owner=row["owner"],
        organization_id=row["organization_id"],
        name=row["name"],
        venue=row["venue"],
        starts_at=row["starts_at"],
        timezone=row["timezone"],
        locale=row["locale"],
        currency=row["currency"],
        status=EventStatus(row["status"]),
        created_at=row["created_at"],
        description=row["description"],
    )


def _ticket_type(row: Any, prefix: str = "") -> TicketType:
    return TicketType(
        id=row[f"{prefix}id"],
        event_id=row[f"{prefix}event_id"],
        name=row[f"{prefix}name"],
        price=Money(row[f"{prefix}price_amount"], row[f"{prefix}price_currency"]),
        capacity=row[f"{prefix}capacity"],
        max_per_booking=row[f"{prefix}max_per_booking"],
        shards=row[f"{prefix}shards"],
        sales_start=row[f"{prefix}sales_start"],
        sales_end=row[f"{prefix}sales_end"],
    )
