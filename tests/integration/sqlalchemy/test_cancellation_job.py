"""An event's cancellation job on a real database: thousands of orders, several runners, a crash.

The orders are written through the ports in bulk (a purchase through every use
case would take minutes for 2,000 and prove nothing more here); the job then
runs the real core: holds released, orders refunded, refunds recorded once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Select, func, select

from eltiketi_adapters.memory import (
    FakePaymentGateway,
    FixedClock,
    HmacTicketSigner,
    RecordingNotifier,
    TimeOrderedIds,
)
from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from eltiketi_adapters.sqlalchemy.models import BookingRow, JobRow, OrderRow, OutboxRow, RefundRow
from eltiketi_core.domain.catalog import Event
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.job import Job, JobKind, JobStatus
from eltiketi_core.usecases import Policy, Ticketing
from eltiketi_core.usecases.jobs import Jobs, JobStep
from tests.integration.sqlalchemy.support import (
    confirmed_orders,
    held_bookings,
    published_event,
)
from tests.unit.usecases.job_steps import Crash, CrashingStep

ORGANIZER = Principal(subject="organizer-1", roles=frozenset({"organizer"}))
POLICY = Policy(job_batch_size=25, job_batches_per_claim=6)


@dataclass
class Shop:
    db: SqlAlchemyPersistence
    core: Ticketing
    clock: FixedClock

    def runner(self, owner: str, step: JobStep | None = None) -> Jobs:
        """Another runner process over the same database."""
        return Jobs(
            self.db.uow_factory(),
            self.clock,
            POLICY,
            {JobKind.EVENT_CANCELLATION: step or self.core.cancellation},
            owner=owner,
        )

    async def job(self, job: Job) -> Job:
        return await self.core.jobs.get(ORGANIZER, job.id)

    async def count(self, query: Select[Any]) -> int:
        async with self.db.engine.connect() as connection:
            return int(await connection.scalar(query) or 0)

    async def orders(self, event: Event, status: str) -> int:
        return await self.count(
            select(func.count()).where(OrderRow.event_id == event.id, OrderRow.status == status)
        )


@pytest.fixture
def shop(db: SqlAlchemyPersistence) -> Shop:
    clock = FixedClock()
    core = Ticketing(
        uow=db.uow_factory(),
        clock=clock,
        ids=TimeOrderedIds(),
        gateway=FakePaymentGateway(),
        signer=HmacTicketSigner(),
        notifiers=[RecordingNotifier("email")],
        policy=POLICY,
    )
    return Shop(db=db, core=core, clock=clock)


async def run_until_idle(runners: Sequence[Jobs]) -> list[int]:
    async def loop(jobs: Jobs) -> int:
        total = 0
        while batches := await jobs.run_due():
            total += batches
        return total

    return list(await asyncio.gather(*(loop(r) for r in runners)))


async def assert_each_order_refunded_once(shop: Shop, event: Event, orders: int) -> None:
    assert await shop.orders(event, "refunded") == orders
    assert await shop.orders(event, "confirmed") == 0
    refunds = (
        select(func.count())
        .select_from(RefundRow)
        .join(OrderRow, OrderRow.id == RefundRow.order_id)
        .where(OrderRow.event_id == event.id, RefundRow.reason == "event_cancelled")
    )
    assert await shop.count(refunds) == orders
    per_payment = (
        select(func.count()).select_from(RefundRow).group_by(RefundRow.payment_id).subquery()
    )
    assert await shop.count(select(func.coalesce(func.max(per_payment.c[0]), 0))) == 1
    for kind in ("OrderRefunded", "RefundRequested"):
        assert await shop.count(select(func.count()).where(OutboxRow.type == kind)) == orders


@pytest.mark.postgres
@pytest.mark.parametrize("db", ["postgres"], indirect=True)
async def test_two_thousand_orders_are_each_refunded_once_by_two_runners(shop: Shop) -> None:
    event, [ticket_type] = await published_event(shop.db, 5000)
    other_event, [other_type] = await published_event(shop.db, 10)
    await confirmed_orders(shop.db, event, ticket_type, 2000)
    await held_bookings(shop.db, event, ticket_type, 30)
    await confirmed_orders(shop.db, other_event, other_type, 3)

    job = await shop.core.cancellation.cancel(ORGANIZER, event.id)
    assert (job.status, job.orders_remaining) == (JobStatus.QUEUED, 2000)
    # Two runner processes share the job: one holds it at a time, handing it back
    # every six batches of 25, so it changes hands along the way.
    batches = await run_until_idle([shop.runner("runner-a"), shop.runner("runner-b")])

    done = await shop.job(job)
    assert (done.status, done.orders_refunded, done.holds_released, done.orders_remaining) == (
        JobStatus.DONE,
        2000,
        30,
        0,
    )
    assert sum(batches) == 2 + 80 + 1  # 30 holds in 25s, 2,000 orders in 25s, the end
    await assert_each_order_refunded_once(shop, event, 2000)
    held = select(func.count()).where(BookingRow.event_id == event.id, BookingRow.status == "held")
    assert await shop.count(held) == 0
    assert await shop.orders(other_event, "confirmed") == 3


async def test_a_crashed_runner_s_job_is_finished_by_another_after_its_lease(shop: Shop) -> None:
    """On PostgreSQL and SQLite: the dead runner's last batch is rolled back with its
    process; its lease keeps the job until it ends; then another runner finishes it."""
    event, [ticket_type] = await published_event(shop.db, 500)
    await confirmed_orders(shop.db, event, ticket_type, 300)
    job = await shop.core.cancellation.cancel(ORGANIZER, event.id)

    with pytest.raises(Crash):  # three batches committed, the fourth dies before its commit
        await shop.runner("runner-dead", CrashingStep(shop.core.cancellation, 4)).run_due()
    left = await shop.job(job)
    assert (left.status, left.lease_owner, left.orders_refunded, left.orders_remaining) == (
        JobStatus.RUNNING,
        "runner-dead",
        75,
        225,
    )
    survivor = shop.runner("runner-b")
    assert await survivor.run_due() == 0  # the dead runner's lease still holds

    shop.clock.advance(POLICY.job_lease)
    assert sum(await run_until_idle([survivor])) > 0

    done = await shop.job(job)
    assert (done.status, done.orders_refunded, done.orders_remaining) == (JobStatus.DONE, 300, 0)
    await assert_each_order_refunded_once(shop, event, 300)


async def test_a_cancellation_racing_itself_makes_one_job(shop: Shop) -> None:
    event, [ticket_type] = await published_event(shop.db, 50)
    await confirmed_orders(shop.db, event, ticket_type, 10)

    jobs = await asyncio.gather(
        *(shop.core.cancellation.cancel(ORGANIZER, event.id) for _ in range(5))
    )

    assert len({j.id for j in jobs}) == 1
    assert await shop.count(select(func.count()).select_from(JobRow)) == 1
    await run_until_idle([shop.runner("runner-a")])
    assert (await shop.job(jobs[0])).orders_refunded == 10
