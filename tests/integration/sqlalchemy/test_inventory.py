"""Inventory on real databases: conditional reservation, shards, allocations."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, update

from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from eltiketi_adapters.sqlalchemy.models import BookingAllocationRow, InventoryShardRow
from eltiketi_adapters.sqlalchemy.stores.inventory import InventoryInvariantBroken
from eltiketi_core.domain.catalog import StockLevel
from eltiketi_core.errors import Conflict
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
        with pytest.raises(InventoryInvariantBroken):
            await uow.inventory.unsell(booking, ticket_type.id, 1)
        with pytest.raises(InventoryInvariantBroken):
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
