"""What the in-memory unit of work adds to the contract: guards, listeners, inspection."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from eltiketi_adapters.memory import (
    InventoryInvariantError,
    MemoryStorage,
    MemoryUnitOfWork,
    NestedUnitOfWorkError,
    memory_uow_factory,
)
from eltiketi_core.domain.catalog import Event, EventStatus, TicketType
from eltiketi_core.domain.events import BookingCreated, DomainEvent, EventCancelled
from eltiketi_core.domain.money import Money
from eltiketi_core.ports.uow import UnitOfWork
from tests.contract.builders import ORG_ID, store_event

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def event() -> Event:
    return Event(
        id=uuid4(),
        owner="olga",
        organization_id=ORG_ID,
        name="Night",
        venue="Hall",
        starts_at=NOW,
        timezone="UTC",
        locale="en",
        currency="EUR",
        status=EventStatus.PUBLISHED,
        created_at=NOW,
    )


def cancelled(of: Event) -> DomainEvent:
    return EventCancelled(id=uuid4(), occurred_at=NOW, booking_id=of.id, event_id=of.id)


def test_it_is_a_unit_of_work() -> None:
    uow: UnitOfWork = MemoryUnitOfWork(MemoryStorage())
    assert uow.outbox is not None


async def test_stores_refuse_to_work_outside_the_transaction() -> None:
    uow = memory_uow_factory(MemoryStorage())()
    with pytest.raises(RuntimeError, match="inside `async with"):
        await uow.catalog.get_event(uuid4())
    async with uow:
        assert await uow.catalog.get_event(uuid4()) is None
    with pytest.raises(RuntimeError, match="inside `async with"):
        await uow.outbox.pending(limit=1)
    with pytest.raises(RuntimeError, match="outside"):
        await uow.commit()


async def test_a_nested_unit_of_work_in_one_task_fails_fast() -> None:
    make = memory_uow_factory(MemoryStorage())
    async with make():
        with pytest.raises(NestedUnitOfWorkError):
            async with make():
                pass
    async with make():  # the lock was released properly
        pass


async def test_one_unit_of_work_cannot_be_entered_twice_at_once() -> None:
    uow = memory_uow_factory(MemoryStorage())()
    async with uow:
        with pytest.raises(RuntimeError, match="already open"):
            await uow.__aenter__()


async def test_transactions_are_serial() -> None:
    make = memory_uow_factory(MemoryStorage())
    inside = 0
    most = 0

    async def work() -> None:
        nonlocal inside, most
        async with make():
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0)
            inside -= 1

    await asyncio.gather(*(work() for _ in range(20)))
    assert most == 1


async def test_cancelled_task_rolls_back_and_frees_the_lock() -> None:
    storage = MemoryStorage()
    make = memory_uow_factory(storage)
    started = asyncio.Event()
    first = event()

    async def slow() -> None:
        async with make() as uow:
            await store_event(uow, first)
            started.set()
            await asyncio.sleep(10)
            await uow.commit()

    task = asyncio.create_task(slow())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with make() as uow:
        assert await uow.catalog.get_event(first.id) is None
    assert first.id not in storage.events


async def test_commit_listeners_run_after_commits_that_wrote_events() -> None:
    calls: list[str] = []
    storage = MemoryStorage(on_commit=lambda: calls.append("storage"))
    make = memory_uow_factory(storage, on_commit=lambda: calls.append("factory"))
    storage.on_commit.append(lambda: calls.append("appended"))

    def broken() -> None:
        raise RuntimeError("listener bug")

    storage.add_commit_listener(broken)
    created = event()
    async with make() as uow:
        await store_event(uow, created)
        await uow.commit()  # no events: nobody to wake
    assert calls == []
    async with make() as uow:
        uow.record(cancelled(created))
        await uow.commit()  # the broken listener is logged, the commit stands
    assert calls == ["storage", "factory", "appended"]
    assert len(storage.recorded_events()) == 1


async def test_recorded_events_filters_by_type_in_outbox_order() -> None:
    storage = MemoryStorage()
    make = memory_uow_factory(storage)
    one, two = event(), event()
    async with make() as uow:
        uow.record(cancelled(one))
        await uow.commit()
    async with make() as uow:
        uow.record(cancelled(two))
        await uow.commit()
    assert [e.event_id for e in storage.recorded_events(EventCancelled)] == [one.id, two.id]
    assert storage.recorded_events(BookingCreated) == []


async def test_rollback_costs_what_the_transaction_changed() -> None:
    storage = MemoryStorage()
    make = memory_uow_factory(storage)
    async with make() as uow:
        for _ in range(500):
            await store_event(uow, event())
        await uow.commit()
    changed = event()
    async with make() as uow:
        await store_event(uow, changed)
        assert len(storage.journal._notes) == 1  # one row noted, not 500 copied
    assert len(storage.events) == 500


async def test_counters_that_would_break_raise_and_change_nothing() -> None:
    storage = MemoryStorage()
    make = memory_uow_factory(storage)
    shown = event()
    ticket_type = TicketType(
        id=uuid4(), event_id=shown.id, name="GA", price=Money(100, "EUR"), capacity=3
    )
    booking = uuid4()
    async with make() as uow:
        await store_event(uow, shown)
        await uow.catalog.add_ticket_type(ticket_type)
        assert await uow.inventory.reserve(booking, ticket_type.id, 2)
        with pytest.raises(InventoryInvariantError):
            await uow.inventory.sell(booking, ticket_type.id, 3)
        with pytest.raises(InventoryInvariantError):
            await uow.inventory.release(booking, uuid4(), 1)
        levels = await uow.inventory.levels([ticket_type.id])
        assert (levels[ticket_type.id].held, levels[ticket_type.id].sold) == (2, 0)
        await uow.commit()
    assert storage.allocations[(booking, ticket_type.id)] == (2, 0)
