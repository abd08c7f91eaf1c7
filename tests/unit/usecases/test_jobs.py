"""Background jobs on the testing kit: an event's cancellation, batch by batch, under a lease.

Runners here are real :class:`~eltiketi_core.usecases.jobs.Jobs` over the kit's
storage; a "dead" or "slow" runner is one whose step raises or whose next unit
of work waits, never a mock of a port.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Self

import pytest

from eltiketi_adapters.memory import InMemoryTicketing, MemoryStorage, MemoryUnitOfWork
from eltiketi_core.domain.events import OrderRefunded, RefundRequested
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.job import Job, JobKind, JobStatus
from eltiketi_core.domain.order import OrderStatus
from eltiketi_core.errors import NotFound
from eltiketi_core.ports.uow import UnitOfWorkFactory
from eltiketi_core.usecases import Policy
from eltiketi_core.usecases.jobs import Jobs, JobStep
from tests.unit.usecases.conftest import ORGANIZER, Sale, buyer, make_sale
from tests.unit.usecases.job_steps import Crash, CrashingStep, FailingStep

KIND = JobKind.EVENT_CANCELLATION
SMALL = Policy(
    job_batch_size=4,
    job_batches_per_claim=3,
    job_max_failures=2,
    job_backoff=timedelta(seconds=5),
)


class Gate:
    """A unit-of-work factory whose ``pause_on``-th unit of work waits before it opens:
    a runner stalled between two batches (a long GC pause, a frozen VM)."""

    def __init__(self, storage: MemoryStorage, pause_on: int) -> None:
        self._storage = storage
        self._pause_on = pause_on
        self.opened = 0
        self.reached = asyncio.Event()
        self.go = asyncio.Event()

    def __call__(self) -> MemoryUnitOfWork:
        self.opened += 1
        if self.opened == self._pause_on:
            return _Stalled(self._storage, self)
        return MemoryUnitOfWork(self._storage)


class _Stalled(MemoryUnitOfWork):
    def __init__(self, storage: MemoryStorage, gate: Gate) -> None:
        super().__init__(storage)
        self._gate = gate

    async def __aenter__(self) -> Self:
        self._gate.reached.set()
        await self._gate.go.wait()
        return await super().__aenter__()


def runner(sale: Sale, step: JobStep, owner: str, uow: UnitOfWorkFactory | None = None) -> Jobs:
    kit = sale.kit
    return Jobs(uow or kit.uow, kit.clock, kit.policy, {KIND: step}, owner=owner)


@pytest.fixture
async def big_sale() -> Sale:
    """30 confirmed orders and 5 holds, with jobs of 4 per batch and 3 batches per claim."""
    sale = await make_sale(InMemoryTicketing(policy=SMALL), capacity=200)
    for n in range(30):
        await sale.buy(buyer(f"b{n}"), 1 + n % 2)
    for n in range(5):
        await sale.hold(buyer(f"h{n}"))
    return sale


async def job_of(sale: Sale, job: Job) -> Job:
    return await sale.kit.core.jobs.get(ORGANIZER, job.id)


def assert_refunded_exactly_once(sale: Sale, orders: int) -> None:
    storage = sale.kit.storage
    assert all(o.status is OrderStatus.REFUNDED for o in storage.orders.values())
    refunded = Counter(e.order_id for e in storage.recorded_events(OrderRefunded))
    requested = Counter(e.payment_id for e in storage.recorded_events(RefundRequested))
    assert len(refunded) == len(requested) == orders
    assert set(refunded.values()) == set(requested.values()) == {1}
    assert len(storage.refunds) == orders


async def test_a_cancellation_walks_every_order_in_small_batches(big_sale: Sale) -> None:
    sale = big_sale
    job = await sale.kit.core.cancellation.cancel(ORGANIZER, sale.event.id)
    assert (job.status, job.orders_remaining) == (JobStatus.QUEUED, 30)

    # One slice: three batches (the 5 holds take two, then 4 orders), then handed back.
    assert await sale.kit.core.jobs.run_due() == 3
    partway = await job_of(sale, job)
    assert partway.status is JobStatus.RUNNING
    assert (partway.holds_released, partway.orders_refunded, partway.orders_remaining) == (
        5,
        4,
        26,
    )
    assert partway.lease_expires_at == sale.clock.now()  # handed back: due again at once

    batches = await sale.kit.run_jobs()
    done = await job_of(sale, job)

    assert batches == 7  # 26 orders in 4s: six full batches, then 2 and the end
    assert (done.status, done.orders_refunded, done.orders_remaining, done.holds_released) == (
        JobStatus.DONE,
        30,
        0,
        5,
    )
    assert done.finished_at == sale.clock.now()
    assert done.lease_owner is None
    assert_refunded_exactly_once(sale, 30)
    await sale.kit.drain()
    assert await sale.levels() == (200, 0, 0)


async def test_a_dead_runner_s_job_is_finished_by_another_once_its_lease_ends(
    big_sale: Sale,
) -> None:
    sale = big_sale
    job = await sale.kit.core.cancellation.cancel(ORGANIZER, sale.event.id)
    dying = CrashingStep(sale.kit.core.cancellation, crash_in=3)

    with pytest.raises(Crash):  # dies inside its third batch, refunds written, not committed
        await runner(sale, dying, "runner-dead").run_due()
    left = await job_of(sale, job)
    assert (left.lease_owner, left.holds_released, left.orders_refunded) == ("runner-dead", 5, 0)
    assert await sale.kit.run_jobs() == 0  # its lease still runs: nobody takes the job

    sale.clock.advance(SMALL.job_lease)
    assert await sale.kit.run_jobs() > 0

    done = await job_of(sale, job)
    assert (done.status, done.orders_refunded, done.holds_released, done.orders_remaining) == (
        JobStatus.DONE,
        30,
        5,
        0,
    )
    assert_refunded_exactly_once(sale, 30)


async def test_a_runner_that_lost_its_lease_writes_nothing(big_sale: Sale) -> None:
    sale = big_sale
    job = await sale.kit.core.cancellation.cancel(ORGANIZER, sale.event.id)
    # the slow runner's units of work: 1 claim, 2 first batch, 3 second batch (stalls)
    gate = Gate(sale.kit.storage, pause_on=3)
    slow = runner(sale, sale.kit.core.cancellation, "runner-slow", gate)

    stalled = asyncio.create_task(slow.run_due())
    await gate.reached.wait()
    sale.clock.advance(SMALL.job_lease + timedelta(seconds=1))
    assert await sale.kit.run_jobs() > 0  # another runner takes over and finishes
    gate.go.set()

    assert await stalled == 1  # the stalled runner's second batch found its lease gone
    done = await job_of(sale, job)
    assert (done.status, done.orders_refunded, done.holds_released) == (JobStatus.DONE, 30, 5)
    assert_refunded_exactly_once(sale, 30)


async def test_a_failing_batch_is_retried_after_a_backoff_then_the_job_fails(
    big_sale: Sale,
) -> None:
    sale = big_sale
    job = await sale.kit.core.cancellation.cancel(ORGANIZER, sale.event.id)
    outage = FailingStep(sale.kit.core.cancellation, failures=2)
    jobs = runner(sale, outage, "runner-a")

    assert await jobs.run_due() == 0
    once = await job_of(sale, job)
    assert (once.status, once.failures, once.holds_released) == (JobStatus.RUNNING, 1, 0)
    assert once.last_error == "RuntimeError: server closed the connection unexpectedly"
    assert once.lease_expires_at == sale.clock.now() + timedelta(seconds=5)
    assert await jobs.run_due() == 0 and outage.failures == 1  # not due during the backoff

    sale.clock.advance(timedelta(seconds=5))
    assert await jobs.run_due() == 0
    failed = await job_of(sale, job)
    assert (failed.status, failed.failures, failed.lease_owner) == (JobStatus.FAILED, 2, None)
    assert failed.finished_at == sale.clock.now()
    sale.clock.advance(timedelta(hours=1))
    assert await jobs.run_due() == 0  # a failed job stays failed

    # The organizer cancels again: the same job is queued again and now finishes.
    again = await sale.kit.core.cancellation.cancel(ORGANIZER, sale.event.id)
    assert (again.id, again.status, again.failures, again.last_error) == (
        job.id,
        JobStatus.QUEUED,
        0,
        None,
    )
    while await jobs.run_due():
        pass
    done = await job_of(sale, job)
    assert (done.status, done.orders_refunded, done.holds_released) == (JobStatus.DONE, 30, 5)
    assert_refunded_exactly_once(sale, 30)


async def test_a_batch_that_succeeds_clears_the_failures(big_sale: Sale) -> None:
    sale = big_sale
    job = await sale.kit.core.cancellation.cancel(ORGANIZER, sale.event.id)
    jobs = runner(sale, FailingStep(sale.kit.core.cancellation, failures=1), "runner-a")
    await jobs.run_due()
    sale.clock.advance(timedelta(seconds=5))
    assert await jobs.run_due() == 3
    partway = await job_of(sale, job)
    assert (partway.failures, partway.last_error, partway.status) == (0, None, JobStatus.RUNNING)


async def test_only_the_event_s_organizer_or_an_admin_reads_its_job(sale: Sale) -> None:
    job = await sale.kit.core.cancellation.cancel(ORGANIZER, sale.event.id)
    admin = Principal(subject="root", roles=frozenset({"admin"}))
    other = Principal(subject="oscar", roles=frozenset({"organizer"}))

    assert await sale.kit.core.jobs.get(ORGANIZER, job.id) == job
    assert await sale.kit.core.jobs.get(admin, job.id) == job
    for stranger in (other, buyer()):
        with pytest.raises(NotFound) as err:
            await sale.kit.core.jobs.get(stranger, job.id)
        assert err.value.code == "job_not_found"
    with pytest.raises(NotFound):
        await sale.kit.core.jobs.get(ORGANIZER, sale.event.id)


async def test_an_event_with_nothing_sold_finishes_in_one_batch(sale: Sale) -> None:
    job = await sale.kit.core.cancellation.cancel(ORGANIZER, sale.event.id)
    assert await sale.kit.run_jobs() == 1
    done = await job_of(sale, job)
    assert (done.status, done.orders_refunded, done.holds_released) == (JobStatus.DONE, 0, 0)
