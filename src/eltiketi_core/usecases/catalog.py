"""Catalogue: organizers create events and ticket types; anyone browses what is on sale."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from eltiketi_core.domain.catalog import Event, EventStatus, StockLevel, TicketType
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.organization import MemberRole
from eltiketi_core.errors import Conflict, ValidationFailed
from eltiketi_core.ports.stores import CatalogStore, InventoryStore
from eltiketi_core.ports.uow import UnitOfWork
from eltiketi_core.usecases.access import managed_event, organization_access, visible_event
from eltiketi_core.usecases.core_ports import UseCase
from eltiketi_core.usecases.organizations import personal_organization


class NewEvent(msgspec.Struct, frozen=True, kw_only=True):
    """``organization_id``: the organization that will own it (the caller must be its
    owner or manager); None: the caller's personal organization (see
    :func:`~eltiketi_core.usecases.organizations.personal_organization`)."""

    name: str
    venue: str
    starts_at: datetime
    timezone: str
    locale: str = "en"
    currency: str = "EUR"
    description: str = ""
    organization_id: UUID | None = None


class NewTicketType(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    price: Money
    capacity: int
    max_per_booking: int = 10
    shards: int = 1
    sales_start: datetime | None = None
    sales_end: datetime | None = None


class TicketTypeView(msgspec.Struct, frozen=True, kw_only=True):
    """A ticket type with live availability, as buyers see it (and its sale window)."""

    id: UUID
    name: str
    price: Money
    capacity: int
    max_per_booking: int
    available: int
    sales_start: datetime | None = None
    sales_end: datetime | None = None


class EventView(msgspec.Struct, frozen=True, kw_only=True):
    event: Event
    ticket_types: tuple[TicketTypeView, ...]


class Catalog(UseCase):
    """Every catalogue use case; they share the same collaborators."""

    async def create_event(self, principal: Principal, new: NewEvent) -> Event:
        """A draft event in ``new.organization_id`` (owner or manager there), or in the
        caller's personal organization (realm role ``organizer``) when none is given."""
        async with self._uow() as uow:
            if new.organization_id is not None:
                organization, _ = await organization_access(
                    uow, principal, new.organization_id, MemberRole.MANAGER
                )
            else:
                organization = await personal_organization(uow, principal, self._ids, self._clock)
            event = Event(
                id=self._ids.new_id(),
                owner=principal.subject,
                organization_id=organization.id,
                name=new.name.strip(),
                venue=new.venue.strip(),
                starts_at=new.starts_at,
                timezone=new.timezone,
                locale=new.locale,
                currency=Money.zero(new.currency).currency,
                created_at=self._clock.now(),
                description=new.description.strip(),
            )
            await uow.catalog.add_event(event)
            await uow.commit()
        return event

    async def add_ticket_type(
        self, principal: Principal, event_id: UUID, new: NewTicketType
    ) -> TicketType:
        async with self._uow() as uow:
            event = await managed_event(uow, principal, event_id)
            if event.status is EventStatus.CANCELLED:
                raise Conflict("event_cancelled", "the event is cancelled")
            if new.price.currency != event.currency:
                raise ValidationFailed(
                    "currency_mismatch",
                    f"prices for this event must be in {event.currency}, not {new.price.currency}",
                )
            ticket_type = TicketType(
                id=self._ids.new_id(),
                event_id=event.id,
                name=new.name.strip(),
                price=new.price,
                capacity=new.capacity,
                max_per_booking=new.max_per_booking,
                shards=new.shards,
                sales_start=new.sales_start,
                sales_end=new.sales_end,
            )
            await uow.catalog.add_ticket_type(ticket_type)
            await uow.commit()
        return ticket_type

    async def publish(self, principal: Principal, event_id: UUID) -> Event:
        async with self._uow() as uow:
            event = await managed_event(uow, principal, event_id)
            if event.status is EventStatus.PUBLISHED:
                return event
            if not await uow.catalog.ticket_types(event.id):
                raise ValidationFailed("no_ticket_types", "add a ticket type before publishing")
            event = event.published()
            await uow.catalog.set_event_status(event.id, event.status)
            await uow.commit()
        return event

    async def list_published(
        self, *, limit: int = 50, offset: int = 0, upcoming: bool = False
    ) -> list[EventView]:
        """Published events, soonest first; ``upcoming``: only those not started yet."""
        async with self._uow() as uow:
            events = await uow.catalog.list_events(
                statuses=frozenset({EventStatus.PUBLISHED}),
                starts_after=self._clock.now() if upcoming else None,
                limit=limit,
                offset=offset,
            )
            return [await _view(uow.catalog, uow.inventory, event) for event in events]

    async def list_managed(
        self, principal: Principal, *, limit: int = 50, offset: int = 0
    ) -> list[EventView]:
        """The events of the organizations the caller owns or manages, in every status
        (admins: everyone's; anyone else: none)."""
        async with self._uow() as uow:
            events = await managed_events(uow, principal, limit=limit, offset=offset)
            return [await _view(uow.catalog, uow.inventory, event) for event in events]

    async def of_organization(
        self, principal: Principal, organization_id: UUID, *, limit: int = 50, offset: int = 0
    ) -> list[EventView]:
        """One organization's events in every status, by start, for any of its members —
        ``door`` included, who needs to know which events they work at. The public view
        (no sales figures: those are for owners and managers, in
        :meth:`~eltiketi_core.usecases.event_admin.EventAdmin.summaries`)."""
        async with self._uow() as uow:
            events = await managed_events(
                uow,
                principal,
                limit=limit,
                offset=offset,
                role=MemberRole.DOOR,
                organization_id=organization_id,
            )
            return [await _view(uow.catalog, uow.inventory, event) for event in events]

    async def get(self, event_id: UUID, principal: Principal | None = None) -> EventView:
        async with self._uow() as uow:
            event = await visible_event(uow, event_id, principal)
            return await _view(uow.catalog, uow.inventory, event)


async def managed_events(
    uow: UnitOfWork,
    principal: Principal,
    *,
    limit: int,
    offset: int,
    role: MemberRole = MemberRole.MANAGER,
    organization_id: UUID | None = None,
) -> list[Event]:
    """The events of the organizations in which the caller has ``role`` (or more), in
    every status, by start (admins: everyone's; anyone else: none).

    ``organization_id`` narrows the list to one organization; there the caller needs
    ``role`` or is refused like any organization route (``404 organization_not_found``
    for a non-member, ``403 missing_role`` for a lesser role) rather than shown an
    empty list that would look like a real answer.

    The list counterpart of :func:`~eltiketi_core.usecases.access.managed_event`:
    every organizer's list goes through it. Memberships are read now, never cached.
    """
    organizations: list[UUID] | None = None
    if organization_id is not None:
        await organization_access(uow, principal, organization_id, role)
        organizations = [organization_id]
    elif not principal.is_admin:
        memberships = await uow.organizations.memberships(principal.subject)
        organizations = [m.organization_id for m in memberships if m.role.includes(role)]
    return await uow.catalog.list_events(organizations=organizations, limit=limit, offset=offset)


async def _view(catalog: CatalogStore, inventory: InventoryStore, event: Event) -> EventView:
    types = await catalog.ticket_types(event.id)
    levels = await inventory.levels([t.id for t in types])
    return EventView(
        event=event,
        ticket_types=tuple(_type_view(t, levels.get(t.id)) for t in types),
    )


def _type_view(ticket_type: TicketType, level: StockLevel | None) -> TicketTypeView:
    return TicketTypeView(
        id=ticket_type.id,
        name=ticket_type.name,
        price=ticket_type.price,
        capacity=ticket_type.capacity,
        max_per_booking=ticket_type.max_per_booking,
        available=max(level.available, 0) if level else 0,
        sales_start=ticket_type.sales_start,
        sales_end=ticket_type.sales_end,
    )
