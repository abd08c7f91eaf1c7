"""The stored facts the abuse rules decide from: when holds ended unpaid (the re-hold
throttle) and whether an order's tickets were used (``ticket_used``), including the
race of a check-in against the void of its order."""

from __future__ import annotations

import asyncio

import pytest

from eltiketi_core.domain.booking import BookingStatus
from eltiketi_core.domain.order import TicketStatus
from eltiketi_core.ports.uow import UnitOfWorkFactory
from tests.contract.builders import World, at, new_check_in

#: Long enough for the other transaction to reach its lock wait; only the
#: outcome is asserted, never how long anything took.
HEAD_START_SECONDS = 0.3


async def test_end_moves_a_hold_to_expired_or_cancelled_once(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    released, expired, confirmed = [await world.booking() for _ in range(3)]
    async with uow_factory() as uow:
        assert await uow.bookings.end(released.id, BookingStatus.CANCELLED, at=at(60))
        assert await uow.bookings.end(expired.id, BookingStatus.EXPIRED, at=at(120))
        assert await uow.bookings.transition(
            confirmed.id, BookingStatus.HELD, BookingStatus.CONFIRMED
        )
        await uow.commit()
    async with uow_factory() as uow:
        assert not await uow.bookings.end(released.id, BookingStatus.EXPIRED, at=at(180))
        assert not await uow.bookings.end(confirmed.id, BookingStatus.CANCELLED, at=at(180))
        for booking, status in (
            (released, BookingStatus.CANCELLED),
            (expired, BookingStatus.EXPIRED),
            (confirmed, BookingStatus.CONFIRMED),
        ):
            stored = await uow.bookings.get(booking.id)
            assert stored == booking.with_status(status)


async def test_end_refuses_a_status_that_is_not_an_end(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    booking = await world.booking()
    async with uow_factory() as uow:
        with pytest.raises(ValueError, match="confirmed"):
            await uow.bookings.end(booking.id, BookingStatus.CONFIRMED, at=at(1))


async def test_ended_unpaid_lists_the_buyers_ended_holds_for_the_event_newest_first(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    ticket_type = await world.ticket_type()
    other_event_type = await world.ticket_type()
    mine = [await world.booking(ticket_type) for _ in range(4)]
    bobs = await world.booking(ticket_type, buyer="bob")
    elsewhere = await world.booking(other_event_type)
    held = await world.booking(ticket_type)
    async with uow_factory() as uow:
        assert await uow.bookings.end(mine[0].id, BookingStatus.EXPIRED, at=at(60))
        assert await uow.bookings.end(mine[1].id, BookingStatus.CANCELLED, at=at(180))
        assert await uow.bookings.end(mine[2].id, BookingStatus.CANCELLED, at=at(120))
        # Ended, then paid after all (payment after expiry re-acquired the stock).
        assert await uow.bookings.end(mine[3].id, BookingStatus.EXPIRED, at=at(150))
        assert await uow.bookings.transition(
            mine[3].id, BookingStatus.EXPIRED, BookingStatus.CONFIRMED
        )
        assert await uow.bookings.end(bobs.id, BookingStatus.CANCELLED, at=at(100))
        assert await uow.bookings.end(elsewhere.id, BookingStatus.CANCELLED, at=at(100))
        await uow.commit()

    async with uow_factory() as uow:
        event_id, buyer = ticket_type.event_id, "alice"
        assert await uow.bookings.ended_unpaid(buyer, event_id, since=at(0), limit=10) == [
            at(180),
            at(120),
            at(60),
        ]
        assert await uow.bookings.ended_unpaid(buyer, event_id, since=at(120), limit=10) == [
            at(180),
            at(120),
        ]
        assert await uow.bookings.ended_unpaid(buyer, event_id, since=at(0), limit=2) == [
            at(180),
            at(120),
        ]
        assert await uow.bookings.ended_unpaid(buyer, event_id, since=at(181), limit=10) == []
        assert await uow.bookings.ended_unpaid("bob", event_id, since=at(0), limit=10) == [at(100)]
        assert held.status is BookingStatus.HELD
        # several buyers at once (a group commit), each with its own limit
        assert await uow.bookings.ended_unpaid_of(
            ["alice", "bob", "carol"], event_id, since=at(61), limit=2
        ) == {"alice": [at(180), at(120)], "bob": [at(100)]}


async def test_an_ended_hold_rolled_back_is_not_counted(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    booking = await world.booking()
    async with uow_factory() as uow:
        assert await uow.bookings.end(booking.id, BookingStatus.CANCELLED, at=at(60))
        # no commit
    async with uow_factory() as uow:
        assert (
            await uow.bookings.ended_unpaid("alice", booking.event_id, since=at(0), limit=5) == []
        )
        stored = await uow.bookings.get(booking.id)
        assert stored is not None
        assert stored.status is BookingStatus.HELD


async def test_checked_in_count_counts_the_orders_used_tickets(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    first, second, third = await world.tickets(await world.order(quantity=3))
    [elsewhere] = await world.tickets()
    async with uow_factory() as uow:
        assert await uow.tickets.checked_in_count(first.order_id) == 0
        await uow.tickets.check_in(new_check_in(first))
        await uow.tickets.check_in(new_check_in(third))
        await uow.tickets.check_in(new_check_in(elsewhere))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tickets.checked_in_count(first.order_id) == 2
        assert await uow.tickets.checked_in_count(elsewhere.order_id) == 1
        locked = await uow.tickets.get_locked(second.id)
        assert locked == second
        assert await uow.tickets.get_locked(first.order_id) is None  # not a ticket id


async def test_a_void_waits_for_a_check_in_holding_the_ticket_and_then_counts_it(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    """The check-in locked its ticket first: the cancellation's void waits for it and
    then sees the check-in, so the cancellation can refuse (``ticket_used``)."""
    [ticket] = await world.tickets()
    scanning = uow_factory()
    await scanning.__aenter__()
    try:
        seen = await scanning.tickets.get_locked(ticket.id)
        assert seen is not None
        assert seen.status is TicketStatus.VALID
        await scanning.tickets.check_in(new_check_in(ticket))

        async def cancel() -> tuple[int, int]:
            async with uow_factory() as uow:
                voided = await uow.tickets.void_for_order(ticket.order_id)
                return voided, await uow.tickets.checked_in_count(ticket.order_id)

        cancelling = asyncio.create_task(cancel())
        await asyncio.sleep(HEAD_START_SECONDS)
        await scanning.commit()
    finally:
        await scanning.__aexit__(None, None, None)

    voided, used = await cancelling
    assert (voided, used) == (1, 1)


async def test_a_check_in_waits_for_a_void_in_progress_and_then_sees_the_ticket_void(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    """The cancellation voided first: the check-in's locked read waits for it and
    then reads the ticket void, so the door refuses it (``ticket_void``)."""
    [ticket] = await world.tickets()
    cancelling = uow_factory()
    await cancelling.__aenter__()
    try:
        assert await cancelling.tickets.void_for_order(ticket.order_id) == 1
        assert await cancelling.tickets.checked_in_count(ticket.order_id) == 0

        async def scan() -> TicketStatus | None:
            async with uow_factory() as uow:
                seen = await uow.tickets.get_locked(ticket.id)
                return seen.status if seen else None

        scanning = asyncio.create_task(scan())
        await asyncio.sleep(HEAD_START_SECONDS)
        await cancelling.commit()
    finally:
        await cancelling.__aexit__(None, None, None)

    assert await scanning is TicketStatus.VOID
