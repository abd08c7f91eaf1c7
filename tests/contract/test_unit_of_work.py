"""UnitOfWork: leaving without commit rolls back everything; commit writes the outbox."""

from __future__ import annotations

import asyncio

import pytest

from eltiketi_core.domain.booking import BookingStatus
from eltiketi_core.ports.uow import UnitOfWorkFactory
from tests.contract.builders import (
    T0,
    World,
    booking_created,
    new_booking,
    new_event,
    new_ticket_type,
    store_event,
)


class Boom(Exception):
    pass


async def test_leaving_without_commit_keeps_nothing(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    ticket_type = await world.ticket_type(capacity=5)
    event = new_event()
    async with uow_factory() as uow:
        await store_event(uow, event)
        assert await uow.inventory.reserve(booking_created().booking_id, ticket_type.id, 2)
        uow.record(booking_created())
        assert await uow.catalog.get_event(event.id) == event  # visible inside
    async with uow_factory() as uow:
        assert await uow.catalog.get_event(event.id) is None
        assert (await uow.inventory.levels([ticket_type.id]))[ticket_type.id].held == 0
        assert await uow.outbox.pending(limit=10) == []


async def test_an_exception_rolls_back_including_the_outbox(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    booking = await world.booking(quantity=2, reserve=True)
    ticket_type_id = booking.items[0].ticket_type_id

    async def expire_then_fail() -> None:
        async with uow_factory() as uow:
            assert await uow.bookings.transition(
                booking.id, BookingStatus.HELD, BookingStatus.EXPIRED
            )
            await uow.inventory.release(booking.id, ticket_type_id, 2)
            await uow.outbox.add([booking_created()])  # written directly, still transactional
            uow.record(booking_created())
            await uow.inbox.claim("sweeper", "event-1", T0)
            raise Boom

    with pytest.raises(Boom):
        await expire_then_fail()
    async with uow_factory() as uow:
        stored = await uow.bookings.get(booking.id)
        assert stored is not None
        assert stored.status is BookingStatus.HELD
        assert (await uow.inventory.levels([ticket_type_id]))[ticket_type_id].held == 2
        assert await uow.outbox.pending(limit=10) == []
        assert await uow.inbox.claim("sweeper", "event-1", T0)


async def test_commit_keeps_changes_and_records_events_in_order(
    uow_factory: UnitOfWorkFactory,
) -> None:
    event = new_event()
    first, second, third = booking_created(), booking_created(), booking_created()
    async with uow_factory() as uow:
        await store_event(uow, event)
        uow.record(first, second)
        uow.record(third)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.catalog.get_event(event.id) == event
        pending = await uow.outbox.pending(limit=10)
    assert [entry.event for entry in pending] == [first, second, third]
    seqs = [entry.seq for entry in pending]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 3


async def test_recorded_events_without_commit_are_dropped(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        uow.record(booking_created())
    async with uow_factory() as uow:
        uow.record(booking_created())
        await uow.commit()
    async with uow_factory() as uow:
        assert len(await uow.outbox.pending(limit=10)) == 1


async def test_writes_after_a_commit_need_their_own_commit(uow_factory: UnitOfWorkFactory) -> None:
    kept, dropped = new_event(), new_event()
    kept_event, dropped_event = booking_created(), booking_created()
    async with uow_factory() as uow:
        await store_event(uow, kept)
        uow.record(kept_event)
        await uow.commit()
        await store_event(uow, dropped)
        uow.record(dropped_event)
    async with uow_factory() as uow:
        assert await uow.catalog.get_event(kept.id) == kept
        assert await uow.catalog.get_event(dropped.id) is None
        assert [e.event for e in await uow.outbox.pending(limit=10)] == [kept_event]


async def test_a_second_commit_keeps_later_writes(uow_factory: UnitOfWorkFactory) -> None:
    one, two = new_event(), new_event()
    async with uow_factory() as uow:
        await store_event(uow, one)
        uow.record(booking_created())
        await uow.commit()
        await store_event(uow, two)
        uow.record(booking_created())
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.catalog.get_event(one.id) == one
        assert await uow.catalog.get_event(two.id) == two
        assert len(await uow.outbox.pending(limit=10)) == 2


async def test_concurrent_transactions_each_commit_their_events(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async def one() -> None:
        async with uow_factory() as uow:
            uow.record(booking_created(), booking_created())
            await uow.commit()

    async def failing() -> None:
        async with uow_factory() as uow:
            uow.record(booking_created())
            raise Boom

    results = await asyncio.gather(
        *(one() if i % 3 else failing() for i in range(30)), return_exceptions=True
    )
    assert sum(isinstance(r, Boom) for r in results) == 10
    async with uow_factory() as uow:
        pending = await uow.outbox.pending(limit=1000)
    assert len(pending) == 40
    assert len({e.event.id for e in pending}) == 40
    seqs = [e.seq for e in pending]
    assert seqs == sorted(seqs)


async def test_rolled_back_rows_do_not_block_their_keys(uow_factory: UnitOfWorkFactory) -> None:
    event = new_event()
    ticket_type = new_ticket_type(event)
    async with uow_factory() as uow:
        await store_event(uow, event)
        await uow.catalog.add_ticket_type(ticket_type)
    async with uow_factory() as uow:  # the same ids again: the first attempt left nothing
        await store_event(uow, event)
        await uow.catalog.add_ticket_type(ticket_type)
        booking = new_booking(event, [(ticket_type, 1)])
        await uow.bookings.add(booking)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.catalog.ticket_types(event.id) == [ticket_type]
        assert await uow.bookings.get(booking.id) == booking
