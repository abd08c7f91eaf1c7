"""Holder names and the buyer's language: stored on the booking, names copied to tickets;
the shop's list of upcoming events."""

from __future__ import annotations

from datetime import timedelta

import msgspec

from eltiketi_core.domain.booking import BookingStatus
from eltiketi_core.domain.catalog import EventStatus
from eltiketi_core.ports.uow import UnitOfWorkFactory
from tests.contract.builders import T0, World, new_booking, new_event, new_tickets


async def test_a_booking_keeps_its_holders_and_language(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    ticket_type = await world.ticket_type()
    event = await world.event_of(ticket_type)
    named = msgspec.structs.replace(
        new_booking(event, [(ticket_type, 2)]), holders=("Ada Lovelace", ""), locale="nl-BE"
    )
    plain = new_booking(event, [(ticket_type, 1)])
    async with uow_factory() as uow:
        await uow.bookings.add(named)
        await uow.bookings.add(plain)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.bookings.get(named.id) == named
        stored_plain = await uow.bookings.get(plain.id)
    assert stored_plain is not None
    assert (stored_plain.holders, stored_plain.locale) == ((), None)


async def test_set_holders_names_a_held_booking_only(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    held = await world.booking(quantity=2)
    done = await world.booking(quantity=2)
    names = ("Grace Hopper", "Alan Turing")
    async with uow_factory() as uow:
        assert await uow.bookings.transition(done.id, BookingStatus.HELD, BookingStatus.CONFIRMED)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.bookings.set_holders(held.id, names)
        assert not await uow.bookings.set_holders(done.id, names)
        assert not await uow.bookings.set_holders(new_booking(new_event(), []).id, names)
        await uow.commit()
    async with uow_factory() as uow:
        stored, untouched = await uow.bookings.get(held.id), await uow.bookings.get(done.id)
    assert stored is not None and stored.holders == names
    assert stored.contact == held.contact and stored.status is BookingStatus.HELD
    assert untouched is not None and untouched.holders == ()


async def test_set_holders_is_undone_by_a_rollback(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    held = await world.booking()
    async with uow_factory() as uow:
        assert await uow.bookings.set_holders(held.id, ("Nobody",))
    async with uow_factory() as uow:
        stored = await uow.bookings.get(held.id)
    assert stored is not None and stored.holders == ()


async def test_a_ticket_keeps_its_holder_name(uow_factory: UnitOfWorkFactory, world: World) -> None:
    order = await world.order(quantity=2)
    first, second = new_tickets(order)
    tickets = [msgspec.structs.replace(first, holder_name="Ada Lovelace"), second]
    async with uow_factory() as uow:
        await uow.tickets.add_many(tickets)
        await uow.commit()
    async with uow_factory() as uow:
        named, unnamed = await uow.tickets.get(first.id), await uow.tickets.get(second.id)
    assert named is not None and named.holder_name == "Ada Lovelace"
    assert named.holder == order.buyer  # ownership stays the buyer's
    assert unnamed is not None and unnamed.holder_name is None


async def test_list_events_starting_after_leaves_out_what_has_started(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    past = await world.event(starts_at=T0 - timedelta(days=1))
    now = await world.event(starts_at=T0)
    soon = await world.event(starts_at=T0 + timedelta(hours=1))
    await world.event(starts_at=T0 + timedelta(hours=2), status=EventStatus.DRAFT)
    published = frozenset({EventStatus.PUBLISHED})
    async with uow_factory() as uow:
        upcoming = await uow.catalog.list_events(statuses=published, starts_after=T0)
        everything = await uow.catalog.list_events(statuses=published)
    assert [e.id for e in upcoming] == [soon.id]
    assert [e.id for e in everything] == [past.id, now.id, soon.id]
