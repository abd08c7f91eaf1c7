"""The sale window under contention on PostgreSQL: 200 buyers race the opening second.

Nobody gets a ticket before the window opens, and exactly the capacity is held
after it: the window is checked in the reservation's own transaction, against
the clock read once the sale's locks are taken, and the stock by the conditional
update that cannot oversell. Pools are sized from the server's free connections (``load_sized``).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import msgspec
import pytest
from sqlalchemy import text

from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from eltiketi_adapters.system import SystemClock
from eltiketi_core.domain.booking import Booking
from eltiketi_core.domain.catalog import TicketType
from eltiketi_core.errors import Conflict, SoldOut
from eltiketi_core.usecases.booking import Bookings
from eltiketi_core.usecases.core_ports import CorePorts
from eltiketi_core.usecases.policy import Policy
from eltiketi_core.usecases.reservation import ItemRequest, ReserveRequest
from tests.integration.sqlalchemy.conftest import load_sized
from tests.integration.sqlalchemy.support import RandomIds, SteppingClock, buyer, published_event

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BUYERS = 200
CAPACITY = 50


@pytest.fixture
async def racers(pg_url: str) -> AsyncIterator[SqlAlchemyPersistence]:
    """Up to 24 connections for 200 buyers: enough for real contention on the stock rows
    while sharing the server with the rest of the suite."""
    async with load_sized(pg_url, most=24, least=10) as db:
        yield db


async def _with_window(
    db: SqlAlchemyPersistence, ticket_type: TicketType, opens: datetime
) -> TicketType:
    windowed = msgspec.structs.replace(ticket_type, sales_start=opens)
    async with db.unit_of_work() as uow:
        await uow.catalog.update_ticket_type(windowed)
        await uow.commit()
    return windowed


async def _held(db: SqlAlchemyPersistence, ticket_type: TicketType) -> tuple[int, int]:
    """(held, rows breaking the invariant) straight from SQL."""
    async with db.engine.connect() as connection:
        held = await connection.scalar(
            text("SELECT sum(held) FROM inventory_shards WHERE ticket_type_id = :t"),
            {"t": ticket_type.id},
        )
        broken = await connection.scalar(
            text("SELECT count(*) FROM inventory_shards WHERE held + sold > capacity")
        )
    return int(held or 0), int(broken or 0)


@pytest.mark.parametrize("shards", [1, 8])
async def test_buyers_racing_the_opening_on_the_real_clock(
    racers: SqlAlchemyPersistence, shards: int
) -> None:
    """Buyers start from half a second before the opening and keep trying until they hold
    a ticket or hear "sold out": every hold is stamped at or after the opening, and
    exactly the capacity is held."""
    event, (ticket_type,) = await published_event(racers, CAPACITY, shards=shards)
    clock = SystemClock()
    opens = clock.now() + timedelta(seconds=1.5)
    await _with_window(racers, ticket_type, opens)
    bookings = Bookings(CorePorts(racers.uow_factory(), clock, RandomIds()), Policy())
    request = ReserveRequest(
        event_id=event.id, items=(ItemRequest(ticket_type_id=ticket_type.id, quantity=1),)
    )
    refusals: list[str] = []
    first_try = time.monotonic() + 1.0  # half a second before the opening

    async def one(n: int) -> Booking | None:
        await asyncio.sleep(max(0.0, first_try - time.monotonic()) + random.uniform(0, 0.8))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                return (await bookings.reserve(buyer(f"w{shards}-{n}"), request)).booking
            except SoldOut:
                return None
            except Conflict as refusal:
                refusals.append(refusal.code)
                if refusal.code != "sales_not_open":
                    return None
                await asyncio.sleep(random.uniform(0.005, 0.03))
        raise AssertionError("a buyer neither got a ticket nor heard 'sold out'")

    outcomes = await asyncio.gather(*(one(n) for n in range(BUYERS)))
    won = [b for b in outcomes if b is not None]
    assert len(won) == CAPACITY
    assert all(b.created_at >= opens for b in won), min(b.created_at for b in won)
    assert refusals and set(refusals) == {"sales_not_open"}  # buyers did come too early
    assert await _held(racers, ticket_type) == (CAPACITY, 0)
    async with racers.unit_of_work() as uow:  # what was committed agrees: no hold before it
        stored = [await uow.bookings.get(b.id) for b in won]
        assert not await uow.bookings.any_for_event(event.id) or all(stored)
    assert min(b.created_at for b in stored if b is not None) >= opens


@pytest.mark.parametrize("shards", [1, 8])
async def test_two_hundred_buyers_at_once_either_side_of_the_opening(
    racers: SqlAlchemyPersistence, shards: int
) -> None:
    """The same crowd at once, first a microsecond before the opening (all refused, nothing
    held), then at the opening (exactly the capacity held, the rest sold out)."""
    event, (ticket_type,) = await published_event(racers, CAPACITY, shards=shards)
    clock = SteppingClock()
    opens = clock.now() + timedelta(minutes=5)
    await _with_window(racers, ticket_type, opens)
    bookings = Bookings(CorePorts(racers.uow_factory(), clock, RandomIds()), Policy())
    request = ReserveRequest(
        event_id=event.id, items=(ItemRequest(ticket_type_id=ticket_type.id, quantity=1),)
    )

    async def everyone(round_name: str) -> list[object]:
        return await asyncio.gather(
            *(bookings.reserve(buyer(f"{round_name}-{n}"), request) for n in range(BUYERS)),
            return_exceptions=True,
        )

    clock.current = opens - timedelta(microseconds=1)
    early = await everyone(f"early{shards}")
    assert {getattr(o, "code", repr(o)) for o in early} == {"sales_not_open"}
    assert await _held(racers, ticket_type) == (0, 0)

    clock.current = opens
    on_time = await everyone(f"open{shards}")
    refused = [o for o in on_time if isinstance(o, BaseException)]
    assert {getattr(o, "code", repr(o)) for o in refused} == {"sold_out"}
    assert len(on_time) - len(refused) == CAPACITY
    assert await _held(racers, ticket_type) == (CAPACITY, 0)
