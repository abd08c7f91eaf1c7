"""InventoryStore: conditional reserve, exact give-backs, ``held + sold <= capacity`` always."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import pytest

from eltiketi_core.domain.catalog import StockLevel, TicketType
from eltiketi_core.ports.uow import UnitOfWorkFactory
from tests.contract.builders import World, committed

SHARDS = [1, 4]


async def reserve(
    uow_factory: UnitOfWorkFactory, ticket_type: TicketType, quantity: int
) -> UUID | None:
    """Reserve for a new booking id in its own transaction; the id if it worked."""
    booking_id = uuid4()
    async with uow_factory() as uow:
        ok = await uow.inventory.reserve(booking_id, ticket_type.id, quantity)
        await uow.commit()
    return booking_id if ok else None


async def level(uow_factory: UnitOfWorkFactory, ticket_type: TicketType) -> StockLevel:
    async with uow_factory() as uow:
        return (await uow.inventory.levels([ticket_type.id]))[ticket_type.id]


async def counters(uow_factory: UnitOfWorkFactory, ticket_type: TicketType) -> tuple[int, int, int]:
    found = await level(uow_factory, ticket_type)
    return found.capacity, found.held, found.sold


@pytest.mark.parametrize("shards", SHARDS)
async def test_a_new_type_has_all_its_capacity_available(
    uow_factory: UnitOfWorkFactory, world: World, shards: int
) -> None:
    ticket_type = await world.ticket_type(capacity=10, shards=shards)
    found = await level(uow_factory, ticket_type)
    assert found == StockLevel(ticket_type_id=ticket_type.id, capacity=10, held=0, sold=0)
    assert found.available == 10


@pytest.mark.parametrize("shards", SHARDS)
async def test_reserve_takes_up_to_capacity_and_refuses_without_changing_anything(
    uow_factory: UnitOfWorkFactory, world: World, shards: int
) -> None:
    ticket_type = await world.ticket_type(capacity=10, shards=shards)
    assert await reserve(uow_factory, ticket_type, 4)
    assert await reserve(uow_factory, ticket_type, 6)
    assert await counters(uow_factory, ticket_type) == (10, 10, 0)
    assert await reserve(uow_factory, ticket_type, 1) is None
    assert await counters(uow_factory, ticket_type) == (10, 10, 0)


@pytest.mark.parametrize("shards", SHARDS)
async def test_reserve_refuses_more_than_is_left(
    uow_factory: UnitOfWorkFactory, world: World, shards: int
) -> None:
    ticket_type = await world.ticket_type(capacity=10, shards=shards)
    assert await reserve(uow_factory, ticket_type, 8)
    assert await reserve(uow_factory, ticket_type, 3) is None
    assert await counters(uow_factory, ticket_type) == (10, 8, 0)
    assert await reserve(uow_factory, ticket_type, 2)


async def test_reserve_refuses_nonsense(uow_factory: UnitOfWorkFactory, world: World) -> None:
    ticket_type = await world.ticket_type(capacity=10)
    assert await reserve(uow_factory, ticket_type, 0) is None
    assert await reserve(uow_factory, ticket_type, -1) is None
    async with uow_factory() as uow:
        assert not await uow.inventory.reserve(uuid4(), uuid4(), 1)  # unknown ticket type
    assert await counters(uow_factory, ticket_type) == (10, 0, 0)


async def test_zero_capacity_is_sold_out(uow_factory: UnitOfWorkFactory, world: World) -> None:
    ticket_type = await world.ticket_type(capacity=0)
    assert await reserve(uow_factory, ticket_type, 1) is None


@pytest.mark.parametrize("shards", SHARDS)
async def test_release_sell_unsell_move_exactly_the_booking_quantities(
    uow_factory: UnitOfWorkFactory, world: World, shards: int
) -> None:
    ticket_type = await world.ticket_type(capacity=10, shards=shards)
    first = await reserve(uow_factory, ticket_type, 3)
    second = await reserve(uow_factory, ticket_type, 4)
    assert first and second
    async with uow_factory() as uow:
        await uow.inventory.sell(first, ticket_type.id, 3)
        await uow.commit()
    assert await counters(uow_factory, ticket_type) == (10, 4, 3)
    async with uow_factory() as uow:
        await uow.inventory.release(second, ticket_type.id, 4)
        await uow.commit()
    assert await counters(uow_factory, ticket_type) == (10, 0, 3)
    async with uow_factory() as uow:
        await uow.inventory.unsell(first, ticket_type.id, 3)
        await uow.commit()
    assert await counters(uow_factory, ticket_type) == (10, 0, 0)
    assert await reserve(uow_factory, ticket_type, 10)  # everything came back


@pytest.mark.parametrize("shards", SHARDS)
async def test_partial_give_backs_add_up(
    uow_factory: UnitOfWorkFactory, world: World, shards: int
) -> None:
    ticket_type = await world.ticket_type(capacity=10, shards=shards)
    booking = await reserve(uow_factory, ticket_type, 5)
    assert booking
    async with uow_factory() as uow:
        await uow.inventory.release(booking, ticket_type.id, 2)
        await uow.inventory.sell(booking, ticket_type.id, 2)
        await uow.commit()
    assert await counters(uow_factory, ticket_type) == (10, 1, 2)
    async with uow_factory() as uow:
        await uow.inventory.release(booking, ticket_type.id, 1)
        await uow.inventory.unsell(booking, ticket_type.id, 1)
        await uow.commit()
    assert await counters(uow_factory, ticket_type) == (10, 0, 1)


@pytest.mark.parametrize("shards", SHARDS)
async def test_one_booking_may_reserve_twice_and_give_back_the_sum(
    uow_factory: UnitOfWorkFactory, world: World, shards: int
) -> None:
    """Payment after expiry re-acquires stock for the same booking id."""
    ticket_type = await world.ticket_type(capacity=10, shards=shards)
    booking = uuid4()
    async with uow_factory() as uow:
        assert await uow.inventory.reserve(booking, ticket_type.id, 2)
        assert await uow.inventory.reserve(booking, ticket_type.id, 3)
        await uow.commit()
    async with uow_factory() as uow:
        await uow.inventory.release(booking, ticket_type.id, 5)
        await uow.commit()
    assert await counters(uow_factory, ticket_type) == (10, 0, 0)


@pytest.mark.parametrize(
    ("move", "quantity"),
    [("release", 3), ("sell", 3), ("unsell", 1)],
)
async def test_giving_back_more_than_the_booking_took_is_refused(
    uow_factory: UnitOfWorkFactory, world: World, move: str, quantity: int
) -> None:
    """Stock a booking never took is not its to give back — even if the type has it."""
    ticket_type = await world.ticket_type(capacity=10)
    other = await reserve(uow_factory, ticket_type, 5)
    mine = await reserve(uow_factory, ticket_type, 2)
    assert other and mine
    with pytest.raises(RuntimeError):
        await committed(
            uow_factory, lambda uow: getattr(uow.inventory, move)(mine, ticket_type.id, quantity)
        )
    assert await counters(uow_factory, ticket_type) == (10, 7, 0)


async def test_levels_sum_shards_and_omit_unknown_types(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    one = await world.ticket_type(capacity=7, shards=3)
    two = await world.ticket_type(capacity=5)
    assert await reserve(uow_factory, one, 6)
    unknown = uuid4()
    async with uow_factory() as uow:
        levels = await uow.inventory.levels([one.id, two.id, unknown])
        assert await uow.inventory.levels([]) == {}
    assert set(levels) == {one.id, two.id}
    assert (levels[one.id].capacity, levels[one.id].held) == (7, 6)
    assert levels[two.id].available == 5


async def test_multi_shard_allocation_is_exact(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    """Capacity 10 over 4 shards: a quantity larger than any one shard is still served,
    "sold out" comes only when the shards together lack it, and each booking gives
    back exactly what it took."""
    ticket_type = await world.ticket_type(capacity=10, shards=4)
    big = await reserve(uow_factory, ticket_type, 7)
    assert big
    small = await reserve(uow_factory, ticket_type, 2)
    assert small
    last = await reserve(uow_factory, ticket_type, 1)
    assert last
    assert await reserve(uow_factory, ticket_type, 1) is None
    async with uow_factory() as uow:
        await uow.inventory.release(big, ticket_type.id, 7)
        await uow.inventory.sell(small, ticket_type.id, 2)
        await uow.commit()
    assert await counters(uow_factory, ticket_type) == (10, 1, 2)
    again = await reserve(uow_factory, ticket_type, 7)
    assert again
    assert await reserve(uow_factory, ticket_type, 1) is None
    async with uow_factory() as uow:
        await uow.inventory.release(last, ticket_type.id, 1)
        await uow.inventory.unsell(small, ticket_type.id, 2)
        await uow.inventory.release(again, ticket_type.id, 7)
        await uow.commit()
    assert await counters(uow_factory, ticket_type) == (10, 0, 0)
    assert await reserve(uow_factory, ticket_type, 10)


@pytest.mark.parametrize("shards", [1, 8])
async def test_concurrent_reservations_never_oversell(
    wide_uow_factory: UnitOfWorkFactory, world: World, shards: int
) -> None:
    """200 buyers, 50 tickets: exactly 50 reservations succeed."""
    ticket_type = await world.ticket_type(capacity=50, shards=shards)
    results = await asyncio.gather(*(reserve(wide_uow_factory, ticket_type, 1) for _ in range(200)))
    assert sum(r is not None for r in results) == 50
    assert await counters(wide_uow_factory, ticket_type) == (50, 50, 0)


@pytest.mark.parametrize("shards", [1, 8])
async def test_concurrent_mixed_quantities_fill_capacity_exactly(
    wide_uow_factory: UnitOfWorkFactory, world: World, shards: int
) -> None:
    ticket_type = await world.ticket_type(capacity=50, shards=shards)
    wanted = [1 + i % 4 for i in range(60)]  # 150 tickets asked for
    results = await asyncio.gather(*(reserve(wide_uow_factory, ticket_type, q) for q in wanted))
    taken = sum(q for q, r in zip(wanted, results, strict=True) if r is not None)
    assert taken <= 50
    found = await level(wide_uow_factory, ticket_type)
    assert found.held == taken
    # Stock only ever went down, so a refusal was right only if, at the end, even the
    # smallest refused quantity does not fit.
    smallest_refused = min(q for q, r in zip(wanted, results, strict=True) if r is None)
    assert found.available < smallest_refused


async def test_concurrent_release_and_reserve_keep_the_counters_right(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    ticket_type = await world.ticket_type(capacity=20, shards=4)
    holders = [await reserve(uow_factory, ticket_type, 1) for _ in range(20)]

    async def release(booking: UUID | None) -> None:
        assert booking
        async with uow_factory() as uow:
            await uow.inventory.release(booking, ticket_type.id, 1)
            await uow.commit()

    results = await asyncio.gather(
        *(release(b) for b in holders[:10]),
        *(reserve(uow_factory, ticket_type, 1) for _ in range(30)),
    )
    won = sum(r is not None for r in results[10:])
    assert won <= 10
    assert await counters(uow_factory, ticket_type) == (20, 10 + won, 0)
