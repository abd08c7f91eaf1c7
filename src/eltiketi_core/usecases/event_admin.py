"""The organizer's catalogue: editing events and ticket types, capacity, unpublishing, and
the list of one's events with where each stands.

Every use case here authorizes through
:func:`~eltiketi_core.usecases.access.managed_event` (one event) or
:func:`~eltiketi_core.usecases.catalog.managed_events` (the list), so a change of
who may manage an event applies to all of them at once.

Edits that change what a reservation checks (a sale window, a price, the event's
start) are written with :meth:`~eltiketi_core.ports.CatalogStore.update_event` /
:meth:`~eltiketi_core.ports.CatalogStore.update_ticket_type`, which wait for the
sales in flight: a hold is taken either under the old rules, committed before
the edit, or under the new ones.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from eltiketi_core.domain.catalog import Event, EventPhase, EventStatus, StockLevel, TicketType
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.money import Money
from eltiketi_core.errors import Conflict, NotFound, ValidationFailed
from eltiketi_core.ports.clock import Clock
from eltiketi_core.ports.stores import OrderTotals
from eltiketi_core.ports.uow import UnitOfWork, UnitOfWorkFactory
from eltiketi_core.usecases.access import managed_event
from eltiketi_core.usecases.catalog import managed_events


class EventChanges(msgspec.Struct, frozen=True, kw_only=True):
    """What to change in an event; a field left ``UNSET`` keeps its value.

    ``currency`` can change only while the event has no ticket type (prices, and
    so every booking, are in the event's currency).
    """

    name: str | UnsetType = UNSET
    venue: str | UnsetType = UNSET
    starts_at: datetime | UnsetType = UNSET
    timezone: str | UnsetType = UNSET
    locale: str | UnsetType = UNSET
    currency: str | UnsetType = UNSET
    description: str | UnsetType = UNSET


class TicketTypeChanges(msgspec.Struct, frozen=True, kw_only=True):
    """What to change in a ticket type; ``UNSET`` keeps a value, ``None`` removes a bound
    of the sale window. ``shards`` is fixed once a type exists.

    A new ``price`` applies to holds taken from now on; holds and orders keep the
    price they were taken at. ``capacity`` may go up at any time and down to what
    is held and sold (``capacity_below_sold`` otherwise).
    """

    name: str | UnsetType = UNSET
    price: Money | UnsetType = UNSET
    capacity: int | UnsetType = UNSET
    max_per_booking: int | UnsetType = UNSET
    sales_start: datetime | UnsetType | None = UNSET
    sales_end: datetime | UnsetType | None = UNSET


class TicketTypeStock(msgspec.Struct, frozen=True, kw_only=True):
    """A ticket type and its counters, as its organizer sees them."""

    ticket_type: TicketType
    capacity: int
    held: int
    sold: int

    @property
    def available(self) -> int:
        return max(self.capacity - self.held - self.sold, 0)


class EventSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One line of the organizer's event list: where the event stands and its sales so far.

    ``tickets_sold`` counts tickets of confirmed orders (the inventory's ``sold``,
    which lags a confirmation by the moment its handler takes); ``gross`` is every
    order ever paid, ``refunded`` the part of it paid back.
    """

    event: Event
    phase: EventPhase
    ticket_types: int
    capacity: int
    held: int
    tickets_sold: int
    available: int
    orders: int
    gross: Money
    refunded: Money


class EventAdmin:
    """Catalogue management for organizers (the back office's "Events")."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def edit_event(
        self, principal: Principal, event_id: UUID, changes: EventChanges
    ) -> Event:
        """Change an event's details; a draft or a published event, not a cancelled one."""
        async with self._uow() as uow:
            event = await _managed(uow, principal, event_id)
            _not_cancelled(event)
            values = {
                name: value.strip() if isinstance(value, str) and name != "currency" else value
                for name, value in msgspec.structs.asdict(changes).items()
                if value is not UNSET
            }
            if "currency" in values:
                values["currency"] = Money.zero(values["currency"]).currency
                if values["currency"] != event.currency and await uow.catalog.ticket_types(
                    event.id
                ):
                    raise Conflict(
                        "currency_locked",
                        "the currency cannot change once the event has ticket types",
                    )
            edited = msgspec.structs.replace(event, **values)
            if edited != event:
                await uow.catalog.update_event(edited)
                await uow.commit()
        return edited

    async def unpublish(self, principal: Principal, event_id: UUID) -> Event:
        """Take a published event off sale, back to draft — only while nobody has ever
        booked it (a hold, even expired, or an order). An event with bookings is
        cancelled instead (which refunds them), or edited while it stays published.

        Race-free: the status changes first, which waits for the reservations in
        flight (see :meth:`~eltiketi_core.ports.CatalogStore.set_event_status`); the
        bookings are counted after, and any found undoes the change.
        """
        async with self._uow() as uow:
            event = await _managed(uow, principal, event_id)
            if event.status is EventStatus.DRAFT:
                return event
            _not_cancelled(event)
            await uow.catalog.set_event_status(event.id, EventStatus.DRAFT)
            if await uow.bookings.any_for_event(event.id):
                raise Conflict(
                    "event_has_bookings",
                    "tickets of this event have been booked; cancel it instead",
                )
            await uow.commit()
        return msgspec.structs.replace(event, status=EventStatus.DRAFT)

    async def edit_ticket_type(
        self,
        principal: Principal,
        event_id: UUID,
        ticket_type_id: UUID,
        changes: TicketTypeChanges,
    ) -> TicketTypeStock:
        """Change a ticket type: details, sale window and capacity, all or nothing."""
        async with self._uow() as uow:
            event = await _managed(uow, principal, event_id)
            _not_cancelled(event)
            found = await uow.catalog.get_ticket_type(ticket_type_id)
            if found is None or found.event_id != event.id:
                raise NotFound("ticket_type_not_found", "no such ticket type in this event")
            values = {
                name: value.strip() if isinstance(value, str) else value
                for name, value in msgspec.structs.asdict(changes).items()
                if value is not UNSET and name != "capacity"
            }
            price = values.get("price")
            if isinstance(price, Money) and price.currency != event.currency:
                raise ValidationFailed(
                    "currency_mismatch",
                    f"prices for this event must be in {event.currency}, not {price.currency}",
                )
            edited = msgspec.structs.replace(found, **values)
            if edited != found:
                await uow.catalog.update_ticket_type(edited)
            if changes.capacity is not UNSET:
                await _set_capacity(uow, edited, changes.capacity)
                edited = msgspec.structs.replace(edited, capacity=changes.capacity)
            level = (await uow.inventory.levels([edited.id])).get(edited.id)
            await uow.commit()
        return _stock(edited, level)

    async def stock(self, principal: Principal, event_id: UUID) -> list[TicketTypeStock]:
        """Every ticket type of the event with its counters, in creation order."""
        async with self._uow() as uow:
            event = await _managed(uow, principal, event_id)
            return await ticket_type_stock(uow, event)

    async def summaries(
        self,
        principal: Principal,
        *,
        limit: int = 50,
        offset: int = 0,
        organization_id: UUID | None = None,
    ) -> list[EventSummary]:
        """The caller's events (every status) with their phase and sales, by start;
        ``organization_id``: only that organization's (where the caller must be an owner
        or manager: ``404 organization_not_found``, ``403 missing_role`` otherwise)."""
        now = self._clock.now()
        async with self._uow() as uow:
            events = await managed_events(
                uow, principal, limit=limit, offset=offset, organization_id=organization_id
            )
            totals = await uow.orders.totals([e.id for e in events])
            return [
                _summary(event, await ticket_type_stock(uow, event), totals.get(event.id), now)
                for event in events
            ]


async def _managed(uow: UnitOfWork, principal: Principal, event_id: UUID) -> Event:
    return await managed_event(uow, principal, event_id)


def _not_cancelled(event: Event) -> None:
    if event.status is EventStatus.CANCELLED:
        raise Conflict("event_cancelled", "the event is cancelled")


async def _set_capacity(uow: UnitOfWork, ticket_type: TicketType, capacity: int) -> None:
    if capacity < 0:
        raise ValidationFailed("invalid_capacity", "capacity cannot be negative")
    if await uow.inventory.set_capacity(ticket_type.id, capacity):
        return
    level = (await uow.inventory.levels([ticket_type.id])).get(ticket_type.id)
    taken = level.held + level.sold if level else 0
    raise Conflict(
        "capacity_below_sold",
        f"{taken} tickets of {ticket_type.name!r} are held or sold; capacity cannot go below that",
        minimum=taken,
    )


async def ticket_type_stock(uow: UnitOfWork, event: Event) -> list[TicketTypeStock]:
    """The event's ticket types with their counters (two reads)."""
    types = await uow.catalog.ticket_types(event.id)
    levels = await uow.inventory.levels([t.id for t in types])
    return [_stock(t, levels.get(t.id)) for t in types]


def _stock(ticket_type: TicketType, level: StockLevel | None) -> TicketTypeStock:
    return TicketTypeStock(
        ticket_type=ticket_type,
        capacity=level.capacity if level else ticket_type.capacity,
        held=level.held if level else 0,
        sold=level.sold if level else 0,
    )


def _summary(
    event: Event, stock: list[TicketTypeStock], totals: OrderTotals | None, now: datetime
) -> EventSummary:
    available = sum(s.available for s in stock)
    totals = totals or OrderTotals(event_id=event.id)
    return EventSummary(
        event=event,
        phase=event.phase(now, available=available, ticket_types=len(stock)),
        ticket_types=len(stock),
        capacity=sum(s.capacity for s in stock),
        held=sum(s.held for s in stock),
        tickets_sold=sum(s.sold for s in stock),
        available=available,
        orders=totals.confirmed,
        gross=Money(totals.gross_amount, event.currency),
        refunded=Money(totals.refunded_amount, event.currency),
    )
