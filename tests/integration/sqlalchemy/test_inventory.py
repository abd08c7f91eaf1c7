"""Inventory on real databases: conditional reservation, shards, allocations."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from eltiketi_adapters.sqlalchemy.models import BookingAllocationRow, InventoryShardRow
from eltiketi_core.domain.catalog import StockLevel
from eltiketi_core.errors import Conflict, InventoryInvariantError
from tests.integration.sqlalchemy.support import published_event


async def _shards(db: SqlAlchemyPersistence, ticket_type_id: uuid.UUID) -> list[StockLevel]:
    async with db.unit_of_work() as uow:
        return await uow.inventory.shard_levels(ticket_type_id)


async def _allocated(db: SqlAlchemyPersistence, booking_id: uuid.UUID) -> dict[int, int]:
    """shard_no -> quantity the booking owns there."""
    async with db.unit_of_work() as uow:
        rows = await uow.connection.execute(
            select(BookingAllocationRow.shard_no, func.sum(BookingAllocationRow.quantity))
            .where(BookingAllocationRow.booking_id == booking_id)
            .group_by(BookingAllocationRow.shard_no)
        )
        return {shard_no: int(quantity) for shard_no, quantity in rows}


async def test_capacity_is_split_over_shards(db: SqlAlchemyPersistence) -> None:
    _, (ticket_type,) = await published_event(db, 10, shards=4)
    assert [s.capacity for s in await _shards(db, ticket_type.id)] == [3, 3, 2, 2]
    async with db.unit_of_work() as uow:
        levels = await uow.inventory.levels([ticket_type.id, uuid.uuid4()])
    assert levels == {ticket_type.id: StockLevel(ticket_type_id=ticket_type.id, capacity=10)}


async def test_a_quantity_no_single_shard_has_is_taken_in_pieces(
    db: SqlAlchemyPersistence,
) -> None:
    _, (ticket_type,) = await published_event(db, 10, shards=4)  # shards 3, 3, 2, 2
    big, rest, late = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with db.unit_of_work() as uow:
        assert await uow.inventory.reserve(big, ticket_type.id, 7)
        await uow.commit()
    pieces = await _allocated(db, big)
    assert sum(pieces.values()) == 7
    assert len(pieces) >= 3  # no shard holds more than 3
    async with db.unit_of_work() as uow:
        assert not await uow.inventory.reserve(rest, ticket_type.id, 4)  # 3 left in total
        assert await uow.inventory.reserve(rest, ticket_type.id, 3)
        assert not await uow.inventory.reserve(late, ticket_type.id, 1)
        await uow.commit()
    shards = await _shards(db, ticket_type.id)
    assert [s.held for s in shards] == [s.capacity for s in shards]


async def test_release_gives_back_to_the_shards_the_booking_took_from(
    db: SqlAlchemyPersistence,
) -> None:
    _, (ticket_type,) = await published_event(db, 16, shards=4)  # 4 per shard
    first, second = uuid.uuid4(), uuid.uuid4()
    async with db.unit_of_work() as uow:
        assert await uow.inventory.reserve(first, ticket_type.id, 6)
        await uow.commit()
    after_first = [s.held for s in await _shards(db, ticket_type.id)]
    async with db.unit_of_work() as uow:
        assert await uow.inventory.reserve(second, ticket_type.id, 7)
        await uow.commit()
    after_both = [s.held for s in await _shards(db, ticket_type.id)]
    second_took = [b - a for a, b in zip(after_first, after_both, strict=True)]
    async with db.unit_of_work() as uow:
        await uow.inventory.release(first, ticket_type.id, 6)
        await uow.commit()
    assert [s.held for s in await _shards(db, ticket_type.id)] == second_took
    assert await _allocated(db, first) == {}
    assert sum((await _allocated(db, second)).values()) == 7


async def test_sell_and_unsell_follow_the_allocations(db: SqlAlchemyPersistence) -> None:
    _, (ticket_type,) = await published_event(db, 9, shards=3)
    booking = uuid.uuid4()
    async with db.unit_of_work() as uow:
        assert await uow.inventory.reserve(booking, ticket_type.id, 5)
        await uow.inventory.sell(booking, ticket_type.id, 5)
        await uow.commit()
    shards = await _shards(db, ticket_type.id)
    assert sum(s.sold for s in shards) == 5
    assert sum(s.held for s in shards) == 0
    async with db.unit_of_work() as uow:
        await uow.inventory.unsell(booking, ticket_type.id, 5)
        await uow.commit()
    assert [(s.held, s.sold) for s in await _shards(db, ticket_type.id)] == [(0, 0)] * 3
    async with db.unit_of_work() as uow:
        # the booking owns nothing any more: giving back again is refused, not absorbed
        with pytest.raises(InventoryInvariantError):
            await uow.inventory.unsell(booking, ticket_type.id, 1)
        with pytest.raises(InventoryInvariantError):
            await uow.inventory.release(booking, ticket_type.id, 1)
        assert not await uow.inventory.reserve(booking, ticket_type.id, 0)


async def test_a_partial_release_keeps_the_rest_allocated(db: SqlAlchemyPersistence) -> None:
    _, (ticket_type,) = await published_event(db, 6)
    booking = uuid.uuid4()
    async with db.unit_of_work() as uow:
        assert await uow.inventory.reserve(booking, ticket_type.id, 5)
        await uow.inventory.release(booking, ticket_type.id, 2)
        await uow.inventory.sell(booking, ticket_type.id, 3)
        await uow.commit()
        levels = await uow.inventory.levels([ticket_type.id])
    assert levels[ticket_type.id] == StockLevel(
        ticket_type_id=ticket_type.id, capacity=6, held=0, sold=3
    )


async def test_rolled_back_reservation_leaves_no_trace(db: SqlAlchemyPersistence) -> None:
    _, (ticket_type,) = await published_event(db, 5, shards=2)
    booking = uuid.uuid4()
    async with db.unit_of_work() as uow:
        assert await uow.inventory.reserve(booking, ticket_type.id, 5)
        # no commit
    assert [s.held for s in await _shards(db, ticket_type.id)] == [0, 0]
    assert await _allocated(db, booking) == {}


async def test_unknown_ticket_type_cannot_be_reserved(db: SqlAlchemyPersistence) -> None:
    async with db.unit_of_work() as uow:
        assert not await uow.inventory.reserve(uuid.uuid4(), uuid.uuid4(), 1)


@pytest.mark.postgres
async def test_the_database_itself_refuses_an_oversell(pg: SqlAlchemyPersistence) -> None:
    """The CHECK constraint is the last line: even a raw UPDATE cannot break the invariant."""
    _, (ticket_type,) = await published_event(pg, 2)
    oversell = (
        update(InventoryShardRow)
        .where(InventoryShardRow.ticket_type_id == ticket_type.id)
        .values(sold=InventoryShardRow.sold + 2)
    )
    async with pg.unit_of_work() as uow:
        assert await uow.inventory.reserve(uuid.uuid4(), ticket_type.id, 1)
        tx = uow.inventory._tx  # type: ignore[attr-defined]
        with pytest.raises(Conflict) as refused:
            await tx.execute(oversell)
    assert refused.value.code == "constraint_violation"


async def _backend_pid(uow: Any) -> int:
    return int((await uow.connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _blocker_of_a_waiter(db: SqlAlchemyPersistence, holders: set[int]) -> int:
    """The holder (by backend pid) that some other session is waiting for, once one is."""
    async with db.engine.connect() as probe:
        for _ in range(200):
            rows = await probe.execute(
                text(
                    "SELECT pg_blocking_pids(pid) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
            for (blockers,) in rows:
                waited_for = holders.intersection(blockers)
                if waited_for:
                    return waited_for.pop()
            await asyncio.sleep(0.02)
    raise AssertionError("nobody started waiting for a shard holder")


@pytest.mark.postgres
async def test_a_buyer_who_finds_every_shard_busy_waits_for_one_holder_not_all(
    pg: SqlAlchemyPersistence,
) -> None:
    """All shards locked by buyers in flight, stock left on each: the next buyer queues
    behind one holder and goes on when that one commits, while the other is still open.

    Locking every shard instead would make each such buyer hold all of them, and
    the buyers after it would find no free shard either (a convoy on N shards).
    """
    _, (ticket_type,) = await published_event(pg, 10, shards=2)  # 5 + 5
    async with pg.unit_of_work() as first, pg.unit_of_work() as second:
        assert await first.inventory.reserve(uuid.uuid4(), ticket_type.id, 1)
        assert await second.inventory.reserve(uuid.uuid4(), ticket_type.id, 1)  # the other shard
        holders = {await _backend_pid(first): first, await _backend_pid(second): second}

        async def third_buyer() -> bool:
            async with pg.unit_of_work() as uow:
                taken = await uow.inventory.reserve(uuid.uuid4(), ticket_type.id, 1)
                await uow.commit()
                return taken

        waiting = asyncio.create_task(third_buyer())
        blocker = await _blocker_of_a_waiter(pg, set(holders))
        await holders[blocker].commit()

        assert await asyncio.wait_for(waiting, timeout=10)
        still_open = next(uow for pid, uow in holders.items() if pid != blocker)
        assert still_open.connection.in_transaction()
    shards = await _shards(pg, ticket_type.id)
    assert sum(s.held for s in shards) == 2  # the open one rolled back at the end
