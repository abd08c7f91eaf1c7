"""The promises a store makes to *concurrent* transactions, and the re-acquire path.

* ``open_for_sale`` serialises a buyer's sales of one event until their
  transaction ends, so a per-buyer limit checked with ``active_quantity`` after it
  cannot be raced past;
* ``claim_expired`` hands each expired hold to one sweeper (skip locked);
* ``due`` hands each notification to one retrier (skip locked);
* a booking whose stock was released can take stock again (payment after
  expiry), and gives back exactly that — never more.

Each race runs many units of work at once with ``asyncio.gather``; the
in-memory and SQLite backends serialise them, PostgreSQL really interleaves
them on a pool of connections.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import pytest

from eltiketi_adapters.memory.factories import (
    BASE_INSTANT,
    BookingFactory,
    EventFactory,
    PaymentFactory,
    TicketTypeFactory,
)
from eltiketi_core.domain.booking import Booking, BookingStatus
from eltiketi_core.domain.catalog import TicketType
from eltiketi_core.domain.payment import Payment, PaymentStatus
from eltiketi_core.ports.stores import NotificationRecord, NotificationStatus
from eltiketi_core.ports.uow import UnitOfWorkFactory
from tests.contract.builders import store_event

NOW = BASE_INSTANT


async def on_sale(uow_factory: UnitOfWorkFactory, *, capacity: int, shards: int = 1) -> TicketType:
    event = EventFactory.published(currency="EUR")
    ticket_type = TicketTypeFactory.for_event(event, capacity=capacity, shards=shards)
    async with uow_factory() as uow:
        await store_event(uow, event)
        await uow.catalog.add_ticket_type(ticket_type)
        await uow.commit()
    return ticket_type


async def levels(uow_factory: UnitOfWorkFactory, ticket_type: TicketType) -> tuple[int, int, int]:
    async with uow_factory() as uow:
        level = (await uow.inventory.levels([ticket_type.id]))[ticket_type.id]
    return level.capacity, level.held, level.sold


async def held_bookings(
    uow_factory: UnitOfWorkFactory, ticket_type: TicketType, *holds: tuple[int, datetime]
) -> list[Booking]:
    """Holds as the core makes them (stock reserved and the booking written together),
    one per (quantity, created_at), in one transaction."""
    bookings = [
        BookingFactory.for_ticket_types([ticket_type], quantity, created_at=created_at)
        for quantity, created_at in holds
    ]
    async with uow_factory() as uow:
        for booking in bookings:
            assert await uow.inventory.reserve(booking.id, ticket_type.id, booking.quantity)
            await uow.bookings.add(booking)
        await uow.commit()
    return bookings


# -- the per-buyer limit ----------------------------------------------------------------------


async def test_a_limit_checked_in_an_open_sale_cannot_be_raced_past(
    wide_uow_factory: UnitOfWorkFactory,
) -> None:
    """Twelve requests of one buyer at once, 2 tickets each, limit 6: exactly three win."""
    ticket_type = await on_sale(wide_uow_factory, capacity=100)
    limit, wanted = 6, 2

    async def request() -> bool:
        booking = BookingFactory.for_ticket_types(
            [ticket_type], wanted, buyer="alice", created_at=NOW
        )
        async with wide_uow_factory() as uow:
            await uow.catalog.open_for_sale(ticket_type.event_id, [ticket_type.id], buyer="alice")
            already = await uow.bookings.active_quantity("alice", ticket_type.event_id, NOW)
            await asyncio.sleep(0)  # let the others run into the same check
            if already + wanted > limit:
                return False
            assert await uow.inventory.reserve(booking.id, ticket_type.id, wanted)
            await uow.bookings.add(booking)
            await uow.commit()
        return True

    results = await asyncio.gather(*(request() for _ in range(12)))
    assert sum(results) == limit // wanted
    async with wide_uow_factory() as uow:
        assert await uow.bookings.active_quantity("alice", ticket_type.event_id, NOW) == limit
    assert await levels(wide_uow_factory, ticket_type) == (100, limit, 0)


async def test_other_buyers_are_not_held_up_by_ones_limit(
    wide_uow_factory: UnitOfWorkFactory,
) -> None:
    ticket_type = await on_sale(wide_uow_factory, capacity=100)
    buyers = [f"buyer-{n}" for n in range(10)]

    async def request(buyer: str) -> int:
        booking = BookingFactory.for_ticket_types([ticket_type], 3, buyer=buyer, created_at=NOW)
        async with wide_uow_factory() as uow:
            await uow.catalog.open_for_sale(ticket_type.event_id, [ticket_type.id], buyer=buyer)
            already = await uow.bookings.active_quantity(buyer, ticket_type.event_id, NOW)
            assert await uow.inventory.reserve(booking.id, ticket_type.id, 3)
            await uow.bookings.add(booking)
            await uow.commit()
        return already

    assert await asyncio.gather(*(request(b) for b in buyers)) == [0] * 10
    assert await levels(wide_uow_factory, ticket_type) == (100, 30, 0)


# -- sweepers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shards", [1, 4])
async def test_concurrent_sweepers_release_each_expired_hold_once(
    wide_uow_factory: UnitOfWorkFactory, shards: int
) -> None:
    """Four sweepers, batches of 5, 30 expired holds (and 5 live ones): every expired
    hold is claimed by exactly one sweeper and its stock comes back exactly once."""
    ticket_type = await on_sale(wide_uow_factory, capacity=200, shards=shards)
    expired = await held_bookings(
        wide_uow_factory, ticket_type, *((1 + n % 3, NOW) for n in range(30))
    )
    live = await held_bookings(wide_uow_factory, ticket_type, *[(2, NOW + timedelta(hours=1))] * 5)
    sweep_at = NOW + timedelta(minutes=20)
    claimed_by: dict[UUID, int] = {}

    async def sweeper(number: int) -> None:
        while True:
            async with wide_uow_factory() as uow:
                batch = await uow.bookings.claim_expired(sweep_at, limit=5)
                for booking in batch:
                    assert booking.id not in claimed_by, "claimed twice"
                    claimed_by[booking.id] = number
                    assert await uow.bookings.transition(
                        booking.id, BookingStatus.HELD, BookingStatus.EXPIRED
                    ), "a claimed hold was no longer held"
                    for item in booking.items:
                        await uow.inventory.release(booking.id, item.ticket_type_id, item.quantity)
                await uow.commit()
            if not batch:
                return

    await asyncio.gather(*(sweeper(n) for n in range(4)))
    assert set(claimed_by) == {b.id for b in expired}
    assert await levels(wide_uow_factory, ticket_type) == (200, 2 * len(live), 0)
    async with wide_uow_factory() as uow:
        assert await uow.bookings.claim_expired(sweep_at, limit=100) == []
        still_held = await uow.bookings.held_for_event(ticket_type.event_id, limit=100)
    assert {b.id for b in still_held} == {b.id for b in live}


# -- notification retriers --------------------------------------------------------------------


async def test_concurrent_retriers_lease_each_due_notification_once(
    wide_uow_factory: UnitOfWorkFactory,
) -> None:
    """As ``Notifications.retry_due`` does: claim what is due (a lease), commit. Each due
    record is leased by exactly one retrier."""
    due_at = NOW
    records = [
        NotificationRecord(
            id=uuid4(),
            key=f"tickets:{uuid4()}",
            channel="email",
            kind="tickets",
            recipient="alice@example.org",
            status=NotificationStatus.FAILED if n % 2 else NotificationStatus.QUEUED,
            attempts=n % 3,
            created_at=due_at - timedelta(minutes=5),
            next_attempt_at=due_at - timedelta(seconds=n),
        )
        for n in range(24)
    ]
    async with wide_uow_factory() as uow:
        for record in records:
            assert await uow.notifications.add(record)
        await uow.commit()
    leased_by: dict[UUID, int] = {}

    async def retrier(number: int) -> None:
        while True:
            async with wide_uow_factory() as uow:
                due = await uow.notifications.claim_due(
                    due_at, lease=uuid4(), until=due_at + timedelta(seconds=15), limit=4
                )
                for record in due:
                    assert record.id not in leased_by, "leased twice"
                    leased_by[record.id] = number
                await asyncio.sleep(0)
                await uow.commit()
            if not due:
                return

    await asyncio.gather(*(retrier(n) for n in range(4)))
    assert set(leased_by) == {r.id for r in records}


# -- payment after expiry: the same booking takes stock again ---------------------------------


@pytest.mark.parametrize("shards", [1, 4])
async def test_a_released_booking_can_take_stock_again_and_give_it_back_exactly(
    uow_factory: UnitOfWorkFactory, shards: int
) -> None:
    ticket_type = await on_sale(uow_factory, capacity=10, shards=shards)
    booking, other = await held_bookings(uow_factory, ticket_type, (4, NOW), (3, NOW))
    async with uow_factory() as uow:  # the sweeper: expired, stock back
        assert await uow.bookings.transition(booking.id, BookingStatus.HELD, BookingStatus.EXPIRED)
        await uow.inventory.release(booking.id, ticket_type.id, 4)
        await uow.commit()
    assert await levels(uow_factory, ticket_type) == (10, 3, 0)

    async with uow_factory() as uow:  # the money arrives: settlement re-acquires
        assert await uow.inventory.reserve(booking.id, ticket_type.id, 4)
        assert await uow.bookings.transition(
            booking.id, BookingStatus.EXPIRED, BookingStatus.CONFIRMED
        )
        await uow.commit()
    assert await levels(uow_factory, ticket_type) == (10, 7, 0)

    async with uow_factory() as uow:  # the inventory handler sells what was re-acquired
        await uow.inventory.sell(booking.id, ticket_type.id, 4)
        await uow.commit()
    assert await levels(uow_factory, ticket_type) == (10, 3, 4)
    async with uow_factory() as uow:  # ... and nothing more
        with pytest.raises(RuntimeError):
            await uow.inventory.sell(booking.id, ticket_type.id, 1)
    async with uow_factory() as uow:
        with pytest.raises(RuntimeError):
            await uow.inventory.release(booking.id, ticket_type.id, 1)

    async with uow_factory() as uow:  # a refund gives the sold stock back, exactly once
        await uow.inventory.unsell(booking.id, ticket_type.id, 4)
        await uow.inventory.release(other.id, ticket_type.id, 3)
        await uow.commit()
    assert await levels(uow_factory, ticket_type) == (10, 0, 0)
    async with uow_factory() as uow:
        with pytest.raises(RuntimeError):
            await uow.inventory.unsell(booking.id, ticket_type.id, 1)
    assert await levels(uow_factory, ticket_type) == (10, 0, 0)
    async with uow_factory() as uow:  # every shard is whole again
        assert await uow.inventory.reserve(uuid4(), ticket_type.id, 10)


@pytest.mark.parametrize("shards", [1, 4])
async def test_a_second_release_after_re_acquiring_is_exact(
    uow_factory: UnitOfWorkFactory, shards: int
) -> None:
    """Release, take again, release again: each release gives back what was taken
    since the last one, and a third release has nothing left to give."""
    ticket_type = await on_sale(uow_factory, capacity=8, shards=shards)
    booking_id = uuid4()
    for _ in range(3):
        async with uow_factory() as uow:
            assert await uow.inventory.reserve(booking_id, ticket_type.id, 5)
            await uow.commit()
        assert await levels(uow_factory, ticket_type) == (8, 5, 0)
        async with uow_factory() as uow:
            await uow.inventory.release(booking_id, ticket_type.id, 5)
            await uow.commit()
        assert await levels(uow_factory, ticket_type) == (8, 0, 0)
    async with uow_factory() as uow:
        with pytest.raises(RuntimeError):
            await uow.inventory.release(booking_id, ticket_type.id, 1)


# -- one open payment per booking, under a race -----------------------------------------------


async def test_racing_reopens_leave_one_open_payment_and_say_so(
    wide_uow_factory: UnitOfWorkFactory,
) -> None:
    """Two failed payments of one booking reopened at once: ``transition`` is a
    compare-and-set, so one call answers True and the other False — no error."""
    ticket_type = await on_sale(wide_uow_factory, capacity=10)
    [booking] = await held_bookings(wide_uow_factory, ticket_type, (1, NOW))
    first, second = (
        PaymentFactory.for_booking(booking, status=PaymentStatus.FAILED, provider_reference=None)
        for _ in range(2)
    )
    async with wide_uow_factory() as uow:
        assert await uow.payments.add(first)
        assert await uow.payments.add(second)
        await uow.commit()
    second_started = asyncio.Event()

    async def reopen(payment: Payment) -> bool:
        async with wide_uow_factory() as uow:
            return await uow.payments.transition(
                payment.id, frozenset({PaymentStatus.FAILED}), PaymentStatus.OPEN
            )

    async def reopen_first() -> bool:
        async with wide_uow_factory() as uow:
            done = await uow.payments.transition(
                first.id, frozenset({PaymentStatus.FAILED}), PaymentStatus.OPEN
            )
            await second_started.wait()
            await asyncio.sleep(
                1.0
            )  # the other reopen reaches the database meanwhile (loaded CI: 0.3 s was seen too short)
            await uow.commit()
        return done

    async def reopen_second() -> bool:
        second_started.set()  # before its unit of work: the serial backends queue it here
        async with wide_uow_factory() as uow:
            done = await uow.payments.transition(
                second.id, frozenset({PaymentStatus.FAILED}), PaymentStatus.OPEN
            )
            await uow.commit()
        return done

    results = await asyncio.gather(reopen_first(), reopen_second(), return_exceptions=True)
    assert results == [True, False]
    async with wide_uow_factory() as uow:
        assert await uow.payments.open_for_booking(booking.id) == first.with_status(
            PaymentStatus.OPEN
        )
