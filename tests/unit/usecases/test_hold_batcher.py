"""HoldBatcher: when batches form (no wait when idle, bounded wait under load)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from eltiketi_core.domain.booking import Booking, Contact
from eltiketi_core.domain.identity import Principal
from eltiketi_core.usecases.reservation import (
    Batching,
    HoldBatcher,
    ItemRequest,
    PendingHold,
    ReserveRequest,
)

EVENT = uuid4()


class Runner:
    """A batch runner the test releases by hand; answers each hold with a sentinel."""

    def __init__(self) -> None:
        self.batches: list[list[PendingHold]] = []
        self.gates: list[asyncio.Event] = []

    async def __call__(self, holds: Sequence[PendingHold], careful: bool) -> bool:
        gate = asyncio.Event()
        self.batches.append(list(holds))
        self.gates.append(gate)
        await gate.wait()
        for hold in holds:
            if not hold.future.done():
                hold.future.set_result(ANSWER)
        return False

    def finish(self, index: int) -> None:
        self.gates[index].set()


ANSWER = object()


def hold(event_id: UUID = EVENT) -> PendingHold:
    request = ReserveRequest(
        event_id=event_id, items=(ItemRequest(ticket_type_id=uuid4(), quantity=1),)
    )
    return PendingHold(Principal(subject="b"), request, Contact(email="b@example.org"))


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def batcher(runner: Runner, **batching: object) -> HoldBatcher:
    sizes: list[int] = []
    made = HoldBatcher(runner, Batching(**batching), on_batch=sizes.append)  # type: ignore[arg-type]
    made.sizes = sizes  # type: ignore[attr-defined]
    return made


async def submit(made: HoldBatcher, pending: PendingHold) -> asyncio.Task[Booking]:
    task = asyncio.create_task(made.submit(pending))
    await settle()
    return task


async def test_an_idle_lane_starts_at_once_and_the_queue_leaves_as_one_batch() -> None:
    runner = Runner()
    made = batcher(runner, max_wait=timedelta(seconds=60))
    first = await submit(made, hold())
    assert [len(b) for b in runner.batches] == [1]  # no wait for company
    later = [await submit(made, hold()) for _ in range(5)]
    assert [len(b) for b in runner.batches] == [1]  # they wait for the one in flight
    runner.finish(0)
    await settle()
    assert [len(b) for b in runner.batches] == [1, 5]
    runner.finish(1)
    assert await first is ANSWER
    assert [await task for task in later] == [ANSWER] * 5
    assert made.sizes == [1, 5]  # type: ignore[attr-defined]


async def test_a_full_queue_or_the_wait_bound_starts_a_batch_beside_the_running_one() -> None:
    runner = Runner()
    made = batcher(runner, max_size=3, max_wait=timedelta(milliseconds=20), max_in_flight=3)
    await submit(made, hold())
    for _ in range(3):
        await submit(made, hold())
    assert [len(b) for b in runner.batches] == [1, 3]  # max_size reached: no waiting
    await submit(made, hold())
    assert [len(b) for b in runner.batches] == [1, 3]
    await asyncio.sleep(0.05)
    assert [len(b) for b in runner.batches] == [1, 3, 1]  # the wait bound
    await submit(made, hold())
    await asyncio.sleep(0.05)
    assert [len(b) for b in runner.batches] == [1, 3, 1]  # three in flight: the cap
    runner.finish(0)
    await settle()
    assert [len(b) for b in runner.batches] == [1, 3, 1, 1]
    for index in range(4):
        runner.finish(index)


async def test_lanes_are_per_event_unless_told_otherwise() -> None:
    runner = Runner()
    made = batcher(runner)
    await submit(made, hold(uuid4()))
    await submit(made, hold(uuid4()))
    assert [len(b) for b in runner.batches] == [1, 1]  # two events: two idle lanes
    shared = batcher(Runner(), per_event=False, max_wait=timedelta(seconds=60))
    await submit(shared, hold(uuid4()))
    await submit(shared, hold(uuid4()))
    assert len(shared._run.batches) == 1  # type: ignore[attr-defined]
    for gate in runner.gates + shared._run.gates:  # type: ignore[attr-defined]
        gate.set()


async def test_a_request_whose_caller_left_is_not_sent() -> None:
    runner = Runner()
    made = batcher(runner, max_wait=timedelta(seconds=60))
    await submit(made, hold())
    gone = await submit(made, hold())
    kept = await submit(made, hold())
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    runner.finish(0)
    await settle()
    assert [len(b) for b in runner.batches] == [1, 1]
    runner.finish(1)
    assert await kept is ANSWER


async def test_a_runner_that_raises_answers_every_hold_with_the_error() -> None:
    async def broken(holds: Sequence[PendingHold], careful: bool) -> bool:
        raise RuntimeError("bug")

    made = HoldBatcher(broken, Batching())
    with pytest.raises(RuntimeError, match="bug"):
        await made.submit(hold())
