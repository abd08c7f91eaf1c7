"""Contention on PostgreSQL: flash sales, opposite-order bookings, racing sweepers, retried keys.

These open many connections on purpose (a pool of up to 50 + 10, sized from the
server's free connections); everything else in the suite keeps its pools small.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from eltiketi_core.domain.booking import BookingStatus
from eltiketi_core.errors import Conflict, SoldOut
from eltiketi_core.usecases.booking import Bookings
from eltiketi_core.usecases.core_ports import CorePorts
from eltiketi_core.usecases.expiry import HoldSweeper
from eltiketi_core.usecases.holds import end_hold
from eltiketi_core.usecases.policy import Policy
from eltiketi_core.usecases.reservation import ItemRequest, ReserveRequest
from tests.integration.sqlalchemy.support import (
    RandomIds,
    SteppingClock,
    buyer,
    published_event,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BUYERS = 1_000
CAPACITY = 100


async def _invariant_violations(db: SqlAlchemyPersistence) -> int:
    async with db.engine.connect() as connection:
        return int(
            await connection.scalar(
                text(
                    "SELECT count(*) FROM inventory_shards"
                    " WHERE held < 0 OR sold < 0 OR held + sold > capacity"
                )
            )
        )


async def _totals(db: SqlAlchemyPersistence, ticket_type_id: uuid.UUID) -> tuple[int, int, int]:
    """(held, sold, allocated) for the type, straight from SQL."""
    async with db.engine.connect() as connection:
        held, sold = (
            await connection.execute(
                text("SELECT sum(held), sum(sold) FROM inventory_shards WHERE ticket_type_id = :t"),
                {"t": ticket_type_id},
            )
        ).one()
        allocated = await connection.scalar(
            text(
                "SELECT coalesce(sum(quantity), 0) FROM booking_allocations"
                " WHERE ticket_type_id = :t"
            ),
            {"t": ticket_type_id},
        )
    return int(held), int(sold), int(allocated)


@pytest.mark.parametrize("shards", [1, 16])
@pytest.mark.parametrize("round_no", [1, 2, 3])
async def test_flash_sale_through_the_reserve_use_case(
    crowd: SqlAlchemyPersistence, shards: int, round_no: int
) -> None:
    """1,000 buyers at once for 100 tickets: exactly 100 held, 900 told "sold out"."""
    event, (ticket_type,) = await published_event(crowd, CAPACITY, shards=shards)
    bookings = Bookings(CorePorts(crowd.uow_factory(), SteppingClock(), RandomIds()), Policy())
    request = ReserveRequest(
        event_id=event.id, items=(ItemRequest(ticket_type_id=ticket_type.id, quantity=1),)
    )
    outcomes = await asyncio.gather(
        *(bookings.reserve(buyer(f"{round_no}-{n}"), request) for n in range(BUYERS)),
        return_exceptions=True,
    )
    unexpected = [
        o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, SoldOut)
    ]
    assert unexpected == []
    won = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(won) == CAPACITY
    assert await _totals(crowd, ticket_type.id) == (CAPACITY, 0, CAPACITY)
    assert await _invariant_violations(crowd) == 0
    async with crowd.unit_of_work() as uow:
        held = await uow.bookings.held_for_event(event.id, limit=10 * CAPACITY)
    assert {b.id for b in held} == {o.booking.id for o in won}


@pytest.mark.parametrize("shards", [1, 16])
async def test_flash_sale_of_mixed_quantities_refuses_only_what_is_truly_missing(
    crowd: SqlAlchemyPersistence, shards: int
) -> None:
    """Straight through the store, 500 buyers of 1–4 tickets for 100. Nothing is released
    during the storm, so stock only shrinks: a refused quantity that is still available at
    the end was a false "sold out" (a locked or small shard must never be the reason)."""
    _, (ticket_type,) = await published_event(crowd, CAPACITY, shards=shards)
    rng = random.Random(shards)
    wanted = [rng.randint(1, 4) for _ in range(BUYERS // 2)]  # 500 buyers, 1,250 tickets asked

    async def attempt(quantity: int) -> bool:
        async with crowd.unit_of_work() as uow:
            ok = await uow.inventory.reserve(uuid.uuid4(), ticket_type.id, quantity)
            await uow.commit()
            return ok

    results = await asyncio.gather(*(attempt(q) for q in wanted))
    taken = sum(q for q, ok in zip(wanted, results, strict=True) if ok)
    held, sold, allocated = await _totals(crowd, ticket_type.id)
    assert held == allocated == taken <= CAPACITY
    assert sold == 0
    left = CAPACITY - taken
    refused = [q for q, ok in zip(wanted, results, strict=True) if not ok]
    assert all(q > left for q in refused), f"{left} left, yet refused {sorted(refused)[:5]}"
    assert await _invariant_violations(crowd) == 0


@pytest.mark.parametrize("shards", [1, 8])
async def test_two_processes_grouping_mixed_quantities_refuse_only_what_is_missing(
    crowd: SqlAlchemyPersistence, shards: int
) -> None:
    """Group commit under contention: two API processes (two batchers on one database),
    500 buyers of 1–4 tickets for 100 through the use case. Every answer matches the
    database, and a refused quantity is one the stock truly lacked (stock only shrinks)."""
    event, (ticket_type,) = await published_event(crowd, CAPACITY, shards=shards)
    processes = [
        Bookings(CorePorts(crowd.uow_factory(), SteppingClock(), RandomIds()), Policy())
        for _ in range(2)
    ]
    sizes: list[int] = []
    for process in processes:
        process.batcher.on_batch = sizes.append
    rng = random.Random(shards)
    wanted = [rng.randint(1, 4) for _ in range(BUYERS // 2)]

    def request(quantity: int) -> ReserveRequest:
        item = ItemRequest(ticket_type_id=ticket_type.id, quantity=quantity)
        return ReserveRequest(event_id=event.id, items=(item,))

    outcomes = await asyncio.gather(
        *(
            processes[n % 2].reserve(buyer(f"mixed-{shards}-{n}"), request(q))
            for n, q in enumerate(wanted)
        ),
        return_exceptions=True,
    )
    unexpected = [
        o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, SoldOut)
    ]
    assert unexpected == []
    won = [
        (q, o) for q, o in zip(wanted, outcomes, strict=True) if not isinstance(o, BaseException)
    ]
    taken = sum(q for q, _ in won)
    assert await _totals(crowd, ticket_type.id) == (taken, 0, taken)
    left = CAPACITY - taken
    refused = [q for q, o in zip(wanted, outcomes, strict=True) if isinstance(o, SoldOut)]
    assert all(q > left for q in refused), f"{left} left, yet refused {sorted(refused)[:5]}"
    assert await _invariant_violations(crowd) == 0
    async with crowd.unit_of_work() as uow:
        held = await uow.bookings.held_for_event(event.id, limit=10 * CAPACITY)
    assert {b.id: b.quantity for b in held} == {o.booking.id: q for q, o in won}
    assert max(sizes) > 1  # holds were grouped


async def test_multi_type_bookings_in_opposite_orders_neither_deadlock_nor_half_hold(
    crowd: SqlAlchemyPersistence,
) -> None:
    """Half the buyers ask for (A, B), half for (B, A); the core sorts, we lock in that order."""
    event, (plenty, scarce) = await published_event(crowd, 200, 60, shards=4)
    bookings = Bookings(CorePorts(crowd.uow_factory(), SteppingClock(), RandomIds()), Policy())
    a_then_b = (
        ItemRequest(ticket_type_id=plenty.id, quantity=1),
        ItemRequest(ticket_type_id=scarce.id, quantity=1),
    )
    requests = [
        ReserveRequest(event_id=event.id, items=a_then_b if n % 2 else a_then_b[::-1])
        for n in range(300)
    ]
    outcomes = await asyncio.wait_for(
        asyncio.gather(
            *(bookings.reserve(buyer(n), r) for n, r in enumerate(requests)),
            return_exceptions=True,
        ),
        timeout=120,
    )
    unexpected = [
        o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, SoldOut)
    ]
    assert unexpected == []  # a deadlock would surface as GatewayUnavailable(database_busy)
    won = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(won) == 60
    assert await _totals(crowd, scarce.id) == (60, 0, 60)
    assert await _totals(crowd, plenty.id) == (60, 0, 60)  # no half-held booking left behind
    assert await _invariant_violations(crowd) == 0


async def _expired_holds(
    db: SqlAlchemyPersistence, count: int, clock: SteppingClock, *, types: int = 1
) -> tuple[list[uuid.UUID], Policy]:
    """``count`` one-ticket holds per ticket type, all expired by the clock."""
    policy = Policy(hold_ttl=timedelta(seconds=30), sweep_batch=7)
    event, ticket_types = await published_event(db, *([count] * types), shards=8)
    bookings = Bookings(CorePorts(db.uow_factory(), clock, RandomIds()), policy)
    for ticket_type in ticket_types:
        request = ReserveRequest(
            event_id=event.id, items=(ItemRequest(ticket_type_id=ticket_type.id, quantity=1),)
        )
        for n in range(count):
            await bookings.reserve(buyer(f"{ticket_type.id}-{n}"), request)
    clock.advance(timedelta(seconds=31))
    return [t.id for t in ticket_types], policy


async def test_two_sweepers_claim_each_expired_hold_exactly_once(
    crowd: SqlAlchemyPersistence,
) -> None:
    """The first sweeper claims type A's holds and keeps its transaction open; the second
    claims at once (SKIP LOCKED: it neither waits for nor sees A's holds) and gets only
    type B's. Each hold is released by exactly one of them."""
    clock = SteppingClock()
    (type_a, type_b), _ = await _expired_holds(crowd, 20, clock, types=2)
    first, second = crowd.unit_of_work(), crowd.unit_of_work()
    async with first, second:
        claimed_a = await first.bookings.claim_expired(
            clock.now(), limit=100, ticket_type_id=type_a
        )
        claimed_b = await asyncio.wait_for(
            second.bookings.claim_expired(clock.now(), limit=100), timeout=5
        )
        assert len(claimed_a) == len(claimed_b) == 20
        assert {b.items[0].ticket_type_id for b in claimed_a} == {type_a}
        assert {b.items[0].ticket_type_id for b in claimed_b} == {type_b}
        for uow, batch in ((first, claimed_a), (second, claimed_b)):
            for booking in batch:
                assert await end_hold(uow, booking, BookingStatus.EXPIRED, RandomIds(), clock.now())
        await second.commit()
        await first.commit()
    assert await _totals(crowd, type_a) == (0, 0, 0)
    assert await _totals(crowd, type_b) == (0, 0, 0)


async def test_concurrent_hold_sweepers_release_every_hold_once(
    crowd: SqlAlchemyPersistence,
) -> None:
    clock = SteppingClock()
    (ticket_type_id,), policy = await _expired_holds(crowd, 60, clock)
    sweepers = [
        HoldSweeper(CorePorts(crowd.uow_factory(), clock, RandomIds()), policy) for _ in range(3)
    ]
    released = await asyncio.gather(*(s.sweep() for s in sweepers))
    assert sum(released) == 60
    assert await _totals(crowd, ticket_type_id) == (0, 0, 0)
    async with crowd.engine.connect() as connection:
        expired_events = await connection.scalar(
            text("SELECT count(*) FROM outbox WHERE type = 'BookingExpired'")
        )
        statuses = dict(
            (
                await connection.execute(text("SELECT status, count(*) FROM bookings GROUP BY 1"))
            ).all()
        )
    assert expired_events == 60
    assert statuses == {BookingStatus.EXPIRED.value: 60}
    assert await _invariant_violations(crowd) == 0


async def test_an_idempotency_key_retried_concurrently_makes_one_booking(
    crowd: SqlAlchemyPersistence,
) -> None:
    """Ten replicas (one `Bookings` each) get the same request and key at the same moment."""
    event, (ticket_type,) = await published_event(crowd, 50)
    clock = SteppingClock()
    replicas = [
        Bookings(CorePorts(crowd.uow_factory(), clock, RandomIds()), Policy()) for _ in range(10)
    ]
    request = ReserveRequest(
        event_id=event.id, items=(ItemRequest(ticket_type_id=ticket_type.id, quantity=2),)
    )
    who = buyer("retrying")
    outcomes = await asyncio.gather(
        *(r.reserve(who, request, idempotency_key="key-1") for r in replicas),
        return_exceptions=True,
    )
    answered = [o for o in outcomes if not isinstance(o, BaseException)]
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert all(isinstance(e, Conflict) for e in errors), errors
    assert answered
    assert len({o.booking.id for o in answered}) == 1
    assert sum(not o.replayed for o in answered) <= 1
    assert await _totals(crowd, ticket_type.id) == (2, 0, 2)
    async with crowd.engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM bookings")) == 1
