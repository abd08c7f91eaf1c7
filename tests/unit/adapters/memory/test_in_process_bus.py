"""InProcessBus: purchases in parallel, each purchase's events in order, poison isolated."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import pytest

from eltiketi_adapters.memory import InProcessBus
from eltiketi_core.domain.events import BookingCreated, DomainEvent
from tests.contract.builders import T0, booking_created


def _of_purchase(booking_id: UUID, count: int) -> list[DomainEvent]:
    return [booking_created(booking_id, seconds=i) for i in range(count)]


class Recorder:
    """A handler that records what it saw, after an optional pause or barrier."""

    name = "recorder"
    handles: frozenset[type[DomainEvent]] = frozenset({BookingCreated})

    def __init__(self, barrier: asyncio.Barrier | None = None, fail: UUID | None = None) -> None:
        self.seen: list[DomainEvent] = []
        self.barrier = barrier
        self.fail = fail

    async def __call__(self, event: DomainEvent) -> None:
        if self.barrier is not None and not self.seen:
            await self.barrier.wait()  # passes only if enough deliveries run at once
        # later events of a purchase finish sooner: delivered side by side, they would swap
        await asyncio.sleep(0.002 * max(0.0, 5 - (event.occurred_at - T0).total_seconds()))
        if event.booking_id == self.fail:
            raise RuntimeError("poison")
        self.seen.append(event)


async def test_purchases_are_delivered_concurrently() -> None:
    handler = Recorder(barrier=asyncio.Barrier(8))
    bus = InProcessBus([handler], concurrency=8)
    events = [event for _ in range(8) for event in _of_purchase(uuid4(), 1)]
    await asyncio.wait_for(bus.publish(events), timeout=5)
    assert len(handler.seen) == 8


async def test_a_single_lane_would_not_pass_that_barrier() -> None:
    handler = Recorder(barrier=asyncio.Barrier(2))
    bus = InProcessBus([handler], concurrency=1)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(bus.publish(_of_purchase(uuid4(), 1) * 2), timeout=0.3)


async def test_each_purchase_keeps_its_order() -> None:
    handler = Recorder()
    bus = InProcessBus([handler], concurrency=16)
    purchases = [uuid4() for _ in range(6)]
    events = [event for p in purchases for event in _of_purchase(p, 5)]
    await bus.publish(events)
    for purchase in purchases:
        mine = [e for e in handler.seen if e.booking_id == purchase]
        assert [e.occurred_at for e in mine] == sorted(e.occurred_at for e in mine)
        assert len(mine) == 5


async def test_a_poison_event_is_dead_lettered_and_the_others_delivered() -> None:
    poison = uuid4()
    handler = Recorder(fail=poison)
    bus = InProcessBus([handler], concurrency=4, backoff_seconds=0)
    healthy = [uuid4() for _ in range(3)]
    await bus.publish([*_of_purchase(poison, 1), *(e for p in healthy for e in _of_purchase(p, 2))])
    assert sorted(str(e.booking_id) for e in handler.seen) == sorted(str(p) for p in healthy * 2)
    assert [(name, event.booking_id) for name, event, _ in bus.dead_letters] == [
        ("recorder", poison)
    ]


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        InProcessBus([], concurrency=0)
