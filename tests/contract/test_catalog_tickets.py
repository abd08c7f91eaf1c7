"""Catalogue and tickets: listing order and filters, voiding, single-use check-in."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

import pytest

from eltiketi_core.domain.catalog import EventStatus
from eltiketi_core.domain.order import CheckIn, TicketStatus
from eltiketi_core.errors import Conflict
from eltiketi_core.ports.uow import UnitOfWorkFactory
from tests.contract.builders import (
    ORG_ID,
    T0,
    World,
    committed,
    new_check_in,
    new_event,
    new_ticket_type,
    new_tickets,
)

# -- catalogue --------------------------------------------------------------------------------


async def test_events_round_trip_and_change_status(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    event = await world.event(status=EventStatus.DRAFT)
    async with uow_factory() as uow:
        assert await uow.catalog.get_event(event.id) == event
        await uow.catalog.set_event_status(event.id, EventStatus.CANCELLED)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.catalog.get_event(event.id)
        assert stored == event.cancelled()
        assert await uow.catalog.get_event(new_event().id) is None


async def test_an_event_id_is_unique(uow_factory: UnitOfWorkFactory, world: World) -> None:
    event = await world.event()
    with pytest.raises(Conflict):
        await committed(uow_factory, lambda uow: uow.catalog.add_event(event))


async def test_list_events_orders_by_start_then_id_and_filters(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    later = await world.event(starts_at=T0 + timedelta(days=9))
    sooner = await world.event(starts_at=T0 + timedelta(days=1))
    same_a = await world.event(starts_at=T0 + timedelta(days=5))
    same_b = await world.event(starts_at=T0 + timedelta(days=5))
    draft = await world.event(status=EventStatus.DRAFT, starts_at=T0 + timedelta(days=2))
    other = await world.organization()
    theirs = await world.event(
        owner="otto", organization_id=other.id, starts_at=T0 + timedelta(days=3)
    )
    tied = sorted([same_a, same_b], key=lambda e: e.id)
    published = frozenset({EventStatus.PUBLISHED})
    async with uow_factory() as uow:
        everything = await uow.catalog.list_events()
        on_sale = await uow.catalog.list_events(statuses=published)
        ours_on_sale = await uow.catalog.list_events(statuses=published, organizations=[ORG_ID])
        drafts_of_theirs = await uow.catalog.list_events(
            statuses=frozenset({EventStatus.DRAFT}), organizations={other.id}
        )
        both = await uow.catalog.list_events(organizations=[other.id, ORG_ID, other.id])
        none = await uow.catalog.list_events(organizations=[])
        page = await uow.catalog.list_events(statuses=published, limit=2, offset=1)
    assert [e.id for e in everything] == [
        sooner.id,
        draft.id,
        theirs.id,
        *(e.id for e in tied),
        later.id,
    ]
    assert [e.id for e in on_sale] == [sooner.id, theirs.id, *(e.id for e in tied), later.id]
    assert [e.id for e in ours_on_sale] == [sooner.id, *(e.id for e in tied), later.id]
    assert drafts_of_theirs == []
    assert both == everything
    assert none == []
    assert [e.id for e in page] == [theirs.id, tied[0].id]


async def test_an_event_needs_its_organization(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    orphan = new_event(organization_id=uuid4())
    with pytest.raises(Conflict):
        await committed(uow_factory, lambda uow: uow.catalog.add_event(orphan))
    async with uow_factory() as uow:
        assert await uow.catalog.get_event(orphan.id) is None


async def test_ticket_types_in_creation_order_with_their_stock(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    event = await world.event()
    types = [new_ticket_type(event, capacity=c, shards=s) for c, s in ((5, 1), (9, 3), (1, 1))]
    async with uow_factory() as uow:
        for ticket_type in types:
            await uow.catalog.add_ticket_type(ticket_type)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.catalog.ticket_types(event.id) == types
        assert await uow.catalog.get_ticket_type(types[1].id) == types[1]
        assert await uow.catalog.get_ticket_type(new_event().id) is None
        assert await uow.catalog.ticket_types(new_event().id) == []
        levels = await uow.inventory.levels([t.id for t in types])
    assert [(levels[t.id].capacity, levels[t.id].held, levels[t.id].sold) for t in types] == [
        (5, 0, 0),
        (9, 0, 0),
        (1, 0, 0),
    ]


async def test_a_ticket_type_needs_its_event(uow_factory: UnitOfWorkFactory) -> None:
    orphan = new_ticket_type(new_event())
    with pytest.raises(Conflict):
        await committed(uow_factory, lambda uow: uow.catalog.add_ticket_type(orphan))


# -- tickets ----------------------------------------------------------------------------------


async def test_tickets_of_an_order(uow_factory: UnitOfWorkFactory, world: World) -> None:
    order = await world.order(quantity=3)
    tickets = new_tickets(order)
    async with uow_factory() as uow:
        await uow.tickets.add_many(tickets)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tickets.get(tickets[0].id) == tickets[0]
        stored = await uow.tickets.for_order(order.id)
        assert await uow.tickets.for_order(new_event().id) == []
    assert sorted(stored, key=lambda t: t.id) == sorted(tickets, key=lambda t: t.id)


async def test_void_for_order_counts_what_changed(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    order = await world.order(quantity=2)
    tickets = await world.tickets(order)
    other = await world.tickets()
    async with uow_factory() as uow:
        assert await uow.tickets.void_for_order(order.id) == 2
        assert await uow.tickets.void_for_order(order.id) == 0
        await uow.commit()
    async with uow_factory() as uow:
        assert all(t.status is TicketStatus.VOID for t in await uow.tickets.for_order(order.id))
        untouched = await uow.tickets.get(other[0].id)
    assert untouched is not None
    assert untouched.status is TicketStatus.VALID
    assert len(tickets) == 2


async def test_check_in_first_scan_wins(uow_factory: UnitOfWorkFactory, world: World) -> None:
    first_ticket, second_ticket = await world.tickets(await world.order(quantity=2))
    first = new_check_in(first_ticket, scanned_by="door-1", at_=T0)
    late = new_check_in(first_ticket, scanned_by="door-2", at_=T0 + timedelta(seconds=3))
    async with uow_factory() as uow:
        assert await uow.tickets.check_in(first) == first
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tickets.check_in(late) == first
        other = new_check_in(second_ticket)
        assert await uow.tickets.check_in(other) == other  # another ticket is separate
        await uow.commit()


async def test_fifty_concurrent_scans_admit_once(
    wide_uow_factory: UnitOfWorkFactory, world: World
) -> None:
    [ticket] = await world.tickets()
    scans = [new_check_in(ticket, scanned_by=f"door-{i}") for i in range(50)]

    async def scan(attempt: CheckIn) -> CheckIn:
        async with wide_uow_factory() as uow:
            stored = await uow.tickets.check_in(attempt)
            await uow.commit()
        return stored

    stored = await asyncio.gather(*(scan(s) for s in scans))
    winners = [s for s, kept in zip(scans, stored, strict=True) if kept.id == s.id]
    assert len(winners) == 1
    assert all(kept == winners[0] for kept in stored)


async def test_a_ticket_id_is_unique(uow_factory: UnitOfWorkFactory, world: World) -> None:
    tickets = await world.tickets()
    with pytest.raises(Conflict):
        await committed(uow_factory, lambda uow: uow.tickets.add_many(tickets))


# -- opening an event for sale ----------------------------------------------------------------


async def test_open_for_sale_reads_the_event_and_only_its_own_ticket_types(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    seat = await world.ticket_type()
    event = await world.event_of(seat)
    standing = await world.ticket_type(event)
    elsewhere = await world.ticket_type()
    async with uow_factory() as uow:
        found = await uow.catalog.open_for_sale(
            event.id, [seat.id, elsewhere.id, new_event().id, standing.id], buyer="bob"
        )
        assert found == (event, {seat.id: seat, standing.id: standing})
        assert await uow.catalog.open_for_sale(event.id, [], buyer="bob") == (event, {})
        assert await uow.catalog.open_for_sale(new_event().id, [seat.id], buyer="bob") is None


async def test_a_status_change_waits_for_a_sale_in_flight(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    seat = await world.ticket_type()
    event = await world.event_of(seat)

    async def cancel() -> None:
        await committed(
            uow_factory, lambda uow: uow.catalog.set_event_status(event.id, EventStatus.CANCELLED)
        )

    async with uow_factory() as sale:
        assert await sale.catalog.open_for_sale(event.id, [seat.id], buyer="bob") == (
            event,
            {seat.id: seat},
        )
        cancelling = asyncio.create_task(cancel())
        await asyncio.sleep(0.3)
        assert not cancelling.done()
        await sale.commit()
    await asyncio.wait_for(cancelling, 10)
    async with uow_factory() as later:
        assert await later.catalog.open_for_sale(event.id, [seat.id], buyer="bob") == (
            event.cancelled(),
            {seat.id: seat},
        )


async def test_a_sale_opened_during_a_status_change_sees_the_new_status(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    seat = await world.ticket_type()
    event = await world.event_of(seat)

    async def open_sale() -> object:
        async with uow_factory() as sale:
            return await sale.catalog.open_for_sale(event.id, [seat.id], buyer="bob")

    async with uow_factory() as change:
        await change.catalog.set_event_status(event.id, EventStatus.CANCELLED)
        selling = asyncio.create_task(open_sale())
        await asyncio.sleep(0.3)
        assert not selling.done()
        await change.commit()
    assert await asyncio.wait_for(selling, 10) == (event.cancelled(), {seat.id: seat})
