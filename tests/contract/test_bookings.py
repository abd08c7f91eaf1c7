"""BookingStore: compare-and-set transitions, expiry claims, the per-buyer count."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from eltiketi_core.domain.booking import BookingStatus, Contact
from eltiketi_core.domain.order import OrderStatus
from eltiketi_core.errors import Conflict
from eltiketi_core.ports.uow import UnitOfWorkFactory
from tests.contract.builders import T0, World, at, committed, new_booking, new_event


async def test_add_and_get_round_trip(uow_factory: UnitOfWorkFactory, world: World) -> None:
    ticket_type = await world.ticket_type()
    other_type = await world.ticket_type(await world.event_of(ticket_type))
    async with uow_factory() as uow:
        event = await uow.catalog.get_event(ticket_type.event_id)
        assert event is not None
        booking = new_booking(event, [(ticket_type, 2), (other_type, 3)])
        await uow.bookings.add(booking)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.bookings.get(booking.id) == booking
        assert await uow.bookings.get(new_booking(event, [(ticket_type, 1)]).id) is None


async def test_a_booking_id_is_unique(uow_factory: UnitOfWorkFactory, world: World) -> None:
    booking = await world.booking()
    with pytest.raises(Conflict):
        await committed(uow_factory, lambda uow: uow.bookings.add(booking))


async def test_a_booking_needs_its_event(uow_factory: UnitOfWorkFactory, world: World) -> None:
    ticket_type = await world.ticket_type()
    stranger = new_booking(new_event(), [(ticket_type, 1)])  # event never stored
    with pytest.raises(Conflict):
        await committed(uow_factory, lambda uow: uow.bookings.add(stranger))


async def test_transition_is_compare_and_set(uow_factory: UnitOfWorkFactory, world: World) -> None:
    booking = await world.booking()
    async with uow_factory() as uow:
        assert not await uow.bookings.transition(
            booking.id, BookingStatus.EXPIRED, BookingStatus.CANCELLED
        )
        assert await uow.bookings.transition(
            booking.id, BookingStatus.HELD, BookingStatus.CONFIRMED
        )
        assert not await uow.bookings.transition(
            booking.id, BookingStatus.HELD, BookingStatus.EXPIRED
        )
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.bookings.get(booking.id)
        assert stored is not None
        assert stored.status is BookingStatus.CONFIRMED
        assert stored == booking.with_status(BookingStatus.CONFIRMED)
        assert not await uow.bookings.transition(
            new_booking(new_event(), []).id, BookingStatus.HELD, BookingStatus.EXPIRED
        )


async def test_racing_transitions_have_exactly_one_winner(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    booking = await world.booking()
    targets = [BookingStatus.CONFIRMED, BookingStatus.EXPIRED, BookingStatus.CANCELLED] * 10

    async def attempt(new: BookingStatus) -> bool:
        async with uow_factory() as uow:
            won = await uow.bookings.transition(booking.id, BookingStatus.HELD, new)
            await uow.commit()
        return won

    results = await asyncio.gather(*(attempt(t) for t in targets))
    assert sum(results) == 1
    winner = targets[results.index(True)]
    async with uow_factory() as uow:
        stored = await uow.bookings.get(booking.id)
    assert stored is not None
    assert stored.status is winner


async def test_claim_expired_returns_held_bookings_due_by_now_in_expiry_order(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    ticket_type = await world.ticket_type(capacity=50)
    late = await world.booking(ticket_type, expires_at=at(30))
    early = await world.booking(ticket_type, expires_at=at(10))
    exactly_now = await world.booking(ticket_type, expires_at=at(60))
    await world.booking(ticket_type, expires_at=at(61))  # not yet
    confirmed = await world.booking(ticket_type, expires_at=at(5))
    async with uow_factory() as uow:
        await uow.bookings.transition(confirmed.id, BookingStatus.HELD, BookingStatus.CONFIRMED)
        await uow.commit()
    async with uow_factory() as uow:
        claimed = await uow.bookings.claim_expired(at(60), limit=10)
        assert [b.id for b in claimed] == [early.id, late.id, exactly_now.id]
        assert claimed[0] == early
        limited = await uow.bookings.claim_expired(at(60), limit=2)
        assert [b.id for b in limited] == [early.id, late.id]
        assert await uow.bookings.claim_expired(at(0), limit=10) == []


async def test_claim_expired_filters_by_ticket_type(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    wanted = await world.ticket_type(capacity=50)
    event = await world.event_of(wanted)
    other = await world.ticket_type(event)
    async with uow_factory() as uow:
        mixed = new_booking(event, [(other, 1), (wanted, 2)], expires_at=at(1))
        only_other = new_booking(event, [(other, 1)], expires_at=at(1))
        only_wanted = new_booking(event, [(wanted, 1)], expires_at=at(2))
        for booking in (mixed, only_other, only_wanted):
            await uow.bookings.add(booking)
        await uow.commit()
    async with uow_factory() as uow:
        claimed = await uow.bookings.claim_expired(at(10), limit=10, ticket_type_id=wanted.id)
        everything = await uow.bookings.claim_expired(at(10), limit=10)
    assert {b.id for b in claimed} == {mixed.id, only_wanted.id}
    assert {b.id for b in everything} == {mixed.id, only_other.id, only_wanted.id}


async def test_active_quantity_counts_live_holds_and_unrefunded_purchases(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    ticket_type = await world.ticket_type(capacity=100)
    now = at(100)
    await world.booking(ticket_type, 2, expires_at=at(101))  # live hold: counts
    await world.booking(ticket_type, 3, expires_at=at(100))  # expired at now: does not
    await world.booking(ticket_type, 4, buyer="bob", expires_at=at(500))  # someone else
    cancelled = await world.booking(ticket_type, 5, expires_at=at(500))
    bought = await world.booking(ticket_type, 6, expires_at=at(1))  # confirmed: counts
    refunded = await world.booking(ticket_type, 7, expires_at=at(1))
    async with uow_factory() as uow:
        await uow.bookings.transition(cancelled.id, BookingStatus.HELD, BookingStatus.CANCELLED)
        for booking in (bought, refunded):
            await uow.bookings.transition(booking.id, BookingStatus.HELD, BookingStatus.CONFIRMED)
        await uow.commit()
    await world.order(bought)
    order = await world.order(refunded)
    async with uow_factory() as uow:
        assert await uow.bookings.active_quantity("alice", ticket_type.event_id, now) == 2 + 6 + 7
        assert await uow.orders.transition(order.id, OrderStatus.CONFIRMED, OrderStatus.REFUNDED)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.bookings.active_quantity("alice", ticket_type.event_id, now) == 2 + 6
        assert await uow.bookings.active_quantity("bob", ticket_type.event_id, now) == 4
        assert await uow.bookings.active_quantity("alice", new_event().id, now) == 0
        assert await uow.bookings.active_quantity("nobody", ticket_type.event_id, now) == 0


async def test_held_for_event_lists_only_held_bookings_of_that_event(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    ticket_type = await world.ticket_type(capacity=100)
    elsewhere = await world.ticket_type(capacity=100)
    first = await world.booking(ticket_type, created_at=T0)
    second = await world.booking(ticket_type, created_at=T0 + timedelta(seconds=1))
    done = await world.booking(ticket_type)
    await world.booking(elsewhere)
    async with uow_factory() as uow:
        await uow.bookings.transition(done.id, BookingStatus.HELD, BookingStatus.EXPIRED)
        await uow.commit()
    async with uow_factory() as uow:
        held = await uow.bookings.held_for_event(ticket_type.event_id, limit=10)
        limited = await uow.bookings.held_for_event(ticket_type.event_id, limit=1)
    assert {b.id for b in held} == {first.id, second.id}
    assert len(limited) == 1
    assert all(b.status is BookingStatus.HELD for b in held)


async def test_set_contact_changes_a_held_booking_only(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    held = await world.booking()
    done = await world.booking()
    new_contact = Contact(email="new@example.org", phone="+31612345678")
    async with uow_factory() as uow:
        assert await uow.bookings.transition(done.id, BookingStatus.HELD, BookingStatus.CONFIRMED)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.bookings.set_contact(held.id, new_contact)
        assert not await uow.bookings.set_contact(done.id, new_contact)
        assert not await uow.bookings.set_contact(new_booking(new_event(), []).id, new_contact)
        await uow.commit()
    async with uow_factory() as uow:
        stored, untouched = await uow.bookings.get(held.id), await uow.bookings.get(done.id)
    assert stored is not None and stored.contact == new_contact
    assert untouched is not None and untouched.contact == done.contact


async def test_set_contact_is_undone_by_a_rollback(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    held = await world.booking()
    async with uow_factory() as uow:
        assert await uow.bookings.set_contact(held.id, Contact(email="gone@example.org"))
    async with uow_factory() as uow:
        stored = await uow.bookings.get(held.id)
    assert stored is not None and stored.contact == held.contact
