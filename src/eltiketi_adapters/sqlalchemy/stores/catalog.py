"""Events and ticket types, and the creation of a ticket type's inventory shards."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, update

from eltiketi_adapters.sqlalchemy._tx import Tx
from eltiketi_adapters.sqlalchemy.models import EventRow, InventoryShardRow, TicketTypeRow
from eltiketi_core.domain.catalog import Event, EventStatus, TicketType
from eltiketi_core.domain.money import Money


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
                name=event.name,
                venue=event.venue,
                starts_at=event.starts_at,
                timezone=event.timezone,
                locale=event.locale,
                currency=event.currency,
                status=event.status.value,
                created_at=event.created_at,
            )
        )

    async def get_event(self, event_id: UUID) -> Event | None:
        row = await self._tx.first(select(EventRow.__table__).where(EventRow.id == event_id))
        return _event(row._mapping) if row else None

    async def set_event_status(self, event_id: UUID, status: EventStatus) -> None:
        await self._tx.execute(
            update(EventRow).where(EventRow.id == event_id).values(status=status.value)
        )

    async def list_events(
        self,
        *,
        statuses: frozenset[EventStatus] | None = None,
        owner: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Event]:
        query = select(EventRow.__table__)
        if statuses is not None:
            query = query.where(EventRow.status.in_(sorted(s.value for s in statuses)))
        if owner is not None:
            query = query.where(EventRow.owner == owner)
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
        row = await self._tx.first(
            select(TicketTypeRow.__table__).where(TicketTypeRow.id == ticket_type_id)
        )
        if row is None:
            return None
        ticket_type = _ticket_type(row._mapping)
        self._tx.shard_counts.put(ticket_type.id, ticket_type.shards)
        return ticket_type

    async def ticket_types(self, event_id: UUID) -> list[TicketType]:
        rows = await self._tx.rows(
            select(TicketTypeRow.__table__)
            .where(TicketTypeRow.event_id == event_id)
            .order_by(TicketTypeRow.position, TicketTypeRow.id)
        )
        return [_ticket_type(row._mapping) for row in rows]


def _event(row: Any) -> Event:
    return Event(
        id=row["id"],
        owner=row["owner"],
        name=row["name"],
        venue=row["venue"],
        starts_at=row["starts_at"],
        timezone=row["timezone"],
        locale=row["locale"],
        currency=row["currency"],
        status=EventStatus(row["status"]),
        created_at=row["created_at"],
    )


def _ticket_type(row: Any) -> TicketType:
    return TicketType(
        id=row["id"],
        event_id=row["event_id"],
        name=row["name"],
        price=Money(row["price_amount"], row["price_currency"]),
        capacity=row["capacity"],
        max_per_booking=row["max_per_booking"],
        shards=row["shards"],
    )
