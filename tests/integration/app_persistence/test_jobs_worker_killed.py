"""``eltiketi worker jobs`` killed in the middle of an event's cancellation (PostgreSQL).

The real command line runs the job: 1,000 orders, 10 per batch. It is SIGKILLed
once a hundred or more are refunded — no shutdown code runs, its batch in hand is
rolled back with its connection, its lease stays in the job row. A second
worker takes the job over once that lease (2 s here) has run out and finishes it:
every order refunded exactly once, the job's counts exact.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from eltiketi_adapters.memory import (
    FakePaymentGateway,
    HmacTicketSigner,
    RecordingNotifier,
    TimeOrderedIds,
)
from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from eltiketi_adapters.sqlalchemy.models import OrderRow, RefundRow
from eltiketi_adapters.system import SystemClock
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.job import Job, JobStatus
from eltiketi_core.usecases import Ticketing
from tests.infra.ports import ComponentProcess, start_process
from tests.integration.kafka.deployment import eltiketi_argv
from tests.integration.sqlalchemy.database import fresh_postgres_database
from tests.integration.sqlalchemy.support import confirmed_orders, published_event

pytestmark = pytest.mark.postgres

ORGANIZER = Principal(subject="organizer-1", roles=frozenset({"organizer"}))
ORDERS = 1000
WAIT = 60.0


@pytest.fixture
async def database() -> AsyncIterator[str]:
    async with fresh_postgres_database("jobs_killed") as url:
        yield url


def worker(name: str, url: str, data_dir: Path) -> ComponentProcess:
    env = {
        "ELTIKETI_DATABASE_URL": url,
        "ELTIKETI_DATA_DIR": str(data_dir),
        "ELTIKETI_JOB_BATCH_SIZE": "10",
        "ELTIKETI_JOB_LEASE_SECONDS": "2",
        "ELTIKETI_JOB_INTERVAL_SECONDS": "0.1",
        "ELTIKETI_DATABASE_POOL_SIZE": "2",
        "ELTIKETI_LOG_LEVEL": "WARNING",
    }
    return start_process(name, eltiketi_argv("worker", "jobs"), env=env)


async def job_when(
    core: Ticketing,
    job: Job,
    done: str,
    predicate: Callable[[Job], bool],
    process: ComponentProcess,
) -> Job:
    deadline = time.monotonic() + WAIT
    while True:
        current = await core.jobs.get(ORGANIZER, job.id)
        if predicate(current):
            return current
        assert process.returncode is None, f"worker exited:\n{process.output(limit=3000)}"
        assert time.monotonic() < deadline, f"{done}: not within {WAIT}s: {current}"
        await asyncio.sleep(0.05)


async def test_a_killed_job_worker_s_cancellation_is_finished_by_the_next(
    database: str, tmp_path: Path
) -> None:
    async with SqlAlchemyPersistence(database, pool_size=2, max_overflow=0) as db:
        event, [ticket_type] = await published_event(db, ORDERS)
        await confirmed_orders(db, event, ticket_type, ORDERS)
        core = Ticketing(
            uow=db.uow_factory(),
            clock=SystemClock(),
            ids=TimeOrderedIds(),
            gateway=FakePaymentGateway(),
            signer=HmacTicketSigner(),
            notifiers=[RecordingNotifier("email")],
        )
        job = await core.cancellation.cancel(ORGANIZER, event.id)

        first = worker("jobs-1", database, tmp_path / "w1")
        try:
            partway = await job_when(
                core, job, "some refunds", lambda j: j.orders_refunded >= 100, first
            )
            first.send_signal(signal.SIGKILL)
            first.popen.wait(timeout=10)
        finally:
            first.stop()
        left = await core.jobs.get(ORGANIZER, job.id)
        assert left.status is JobStatus.RUNNING, left
        assert left.lease_owner is not None and str(first.popen.pid) in left.lease_owner
        assert partway.orders_refunded <= left.orders_refunded < ORDERS

        second = worker("jobs-2", database, tmp_path / "w2")
        try:
            done = await job_when(
                core, job, "the job finished", lambda j: j.status is JobStatus.DONE, second
            )
            second.send_signal(signal.SIGTERM)
            assert second.popen.wait(timeout=30) == 0, second.output(limit=3000)
        finally:
            second.stop()

        assert (done.orders_refunded, done.orders_remaining, done.lease_owner) == (ORDERS, 0, None)
        async with db.engine.connect() as connection:
            refunded = await connection.scalar(
                select(func.count()).where(
                    OrderRow.event_id == event.id, OrderRow.status == "refunded"
                )
            )
            refunds = await connection.scalar(select(func.count()).select_from(RefundRow))
            counts = (
                select(func.count().label("n"))
                .select_from(RefundRow)
                .group_by(RefundRow.payment_id)
                .subquery()
            )
            per_payment = await connection.scalar(select(func.max(counts.c.n)))
        assert (refunded, refunds) == (ORDERS, ORDERS)
        assert per_payment == 1
