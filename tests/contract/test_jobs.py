"""Background jobs: one per (event, kind), claimed under a lease, updated by compare-and-set;
and the keyset pages of an event's orders that the cancellation job walks."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID, uuid4

import msgspec
import pytest

from eltiketi_core.domain.job import Job, JobKind, JobStatus
from eltiketi_core.domain.order import OrderStatus
from eltiketi_core.errors import Conflict
from eltiketi_core.ports.uow import UnitOfWorkFactory
from tests.contract.builders import T0, World, at, committed, new_event, new_job

LEASE = timedelta(seconds=30)


async def stored(uow_factory: UnitOfWorkFactory, job_id: UUID) -> Job | None:
    async with uow_factory() as uow:
        return await uow.jobs.get(job_id)


async def claim(
    uow_factory: UnitOfWorkFactory, seconds: float, owner: str, *, limit: int = 10
) -> list[Job]:
    now = at(seconds)
    async with uow_factory() as uow:
        claimed = await uow.jobs.claim(now, owner=owner, until=now + LEASE, limit=limit)
        await uow.commit()
    return claimed


# -- one job per event and kind ---------------------------------------------------------------


async def test_one_job_per_event_and_kind(uow_factory: UnitOfWorkFactory, world: World) -> None:
    event, other = await world.event(), await world.event()
    first = new_job(event, orders_remaining=7)
    async with uow_factory() as uow:
        assert await uow.jobs.add(first)
        assert not await uow.jobs.add(new_job(event))
        assert await uow.jobs.add(new_job(other))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.jobs.get(first.id) == first
        assert await uow.jobs.for_event(event.id, JobKind.EVENT_CANCELLATION) == first
        assert await uow.jobs.get(uuid4()) is None
        assert await uow.jobs.for_event(uuid4(), JobKind.EVENT_CANCELLATION) is None


async def test_concurrent_adds_for_one_event_write_one_job(
    wide_uow_factory: UnitOfWorkFactory, world: World
) -> None:
    event = await world.event()

    async def attempt() -> bool:
        async with wide_uow_factory() as uow:
            added = await uow.jobs.add(new_job(event))
            await uow.commit()
        return added

    assert sum(await asyncio.gather(*(attempt() for _ in range(10)))) == 1


async def test_a_job_needs_its_event_and_an_id_of_its_own(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    with pytest.raises(Conflict):
        await committed(uow_factory, lambda uow: uow.jobs.add(new_job(new_event())))
    job = await world.job()
    twin = msgspec.structs.replace(new_job(await world.event()), id=job.id)
    with pytest.raises(Conflict):
        await committed(uow_factory, lambda uow: uow.jobs.add(twin))


async def test_every_field_round_trips(uow_factory: UnitOfWorkFactory, world: World) -> None:
    job = await world.job()
    full = msgspec.structs.replace(
        job,
        status=JobStatus.RUNNING,
        orders_refunded=12,
        holds_released=3,
        orders_remaining=40,
        cursor=uuid4(),
        started_at=at(1),
        failures=2,
        last_error="OperationalError: gone",
        lease_owner="runner-a",
        lease_expires_at=at(31),
    )
    async with uow_factory() as uow:
        assert await uow.jobs.update(full, owner=None)
        await uow.commit()
    assert await stored(uow_factory, job.id) == full


# -- claims and leases ------------------------------------------------------------------------


async def test_a_claim_takes_due_jobs_oldest_first_under_the_runner_s_lease(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    middle = await world.job(created_at=at(1))
    oldest = await world.job(created_at=at(0))
    newest = await world.job(created_at=at(2))

    first = await claim(uow_factory, 10, "runner-a", limit=2)

    assert [j.id for j in first] == [oldest.id, middle.id]
    for job in first:
        assert (job.status, job.lease_owner, job.lease_expires_at, job.started_at) == (
            JobStatus.RUNNING,
            "runner-a",
            at(10) + LEASE,
            at(10),
        )
        assert await stored(uow_factory, job.id) == job
    assert [j.id for j in await claim(uow_factory, 10, "runner-b")] == [newest.id]
    assert await claim(uow_factory, 10, "runner-c") == []


async def test_a_live_lease_keeps_the_job_an_ended_one_frees_it(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    job = await world.job()
    [taken] = await claim(uow_factory, 0, "runner-a")

    assert await claim(uow_factory, 29, "runner-b") == []
    [again] = await claim(uow_factory, 30, "runner-b")  # the lease ends at 30 s

    assert again.id == job.id
    assert again.lease_owner == "runner-b"
    assert again.started_at == taken.started_at == at(0)  # the first claim's time stays


async def test_a_running_job_without_a_lease_is_due(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    job = await world.job(status=JobStatus.RUNNING)
    assert [j.id for j in await claim(uow_factory, 0, "runner-a")] == [job.id]


async def test_finished_jobs_are_never_claimed(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    await world.job(status=JobStatus.DONE)
    await world.job(status=JobStatus.FAILED)
    assert await claim(uow_factory, 3600, "runner-a") == []


async def test_update_is_a_compare_and_set_on_the_lease_owner(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    await world.job()
    [job] = await claim(uow_factory, 0, "runner-a")
    progress = msgspec.structs.replace(job, orders_refunded=5, cursor=uuid4())
    async with uow_factory() as uow:
        assert not await uow.jobs.update(progress, owner="runner-b")
        assert not await uow.jobs.update(progress, owner=None)
        await uow.commit()
    assert await stored(uow_factory, job.id) == job

    [taken_over] = await claim(uow_factory, 31, "runner-b")
    async with uow_factory() as uow:
        assert not await uow.jobs.update(progress, owner="runner-a")  # a's lease is gone
        assert await uow.jobs.update(
            msgspec.structs.replace(taken_over, orders_refunded=6), owner="runner-b"
        )
        await uow.commit()
    after = await stored(uow_factory, job.id)
    assert after is not None
    assert (after.orders_refunded, after.lease_owner) == (6, "runner-b")


async def test_an_update_never_moves_a_job_to_another_event(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    job = await world.job()
    other = await world.event()
    async with uow_factory() as uow:
        moved = msgspec.structs.replace(job, event_id=other.id, orders_refunded=1)
        assert not await uow.jobs.update(moved, owner=None)
        await uow.commit()
    assert await stored(uow_factory, job.id) == job


async def test_concurrent_runners_claim_each_job_once(
    wide_uow_factory: UnitOfWorkFactory, world: World
) -> None:
    jobs = [await world.job(created_at=at(n)) for n in range(12)]
    claimed_by: dict[UUID, str] = {}

    async def runner(name: str) -> None:
        while True:
            async with wide_uow_factory() as uow:
                claimed = await uow.jobs.claim(at(60), owner=name, until=at(60) + LEASE, limit=2)
                for job in claimed:
                    assert job.id not in claimed_by, "claimed twice"
                    claimed_by[job.id] = name
                await asyncio.sleep(0)
                await uow.commit()
            if not claimed:
                return

    await asyncio.gather(*(runner(f"runner-{n}") for n in range(4)))
    assert set(claimed_by) == {j.id for j in jobs}


async def test_a_job_in_the_middle_of_a_batch_is_not_taken_over(
    wide_uow_factory: UnitOfWorkFactory, world: World
) -> None:
    """A runner renews its lease at the start of each batch; until that batch commits,
    another runner cannot claim the job, even with a clock past the old lease."""
    await world.job()
    [job] = await claim(wide_uow_factory, 0, "runner-a")
    renewed = asyncio.Event()

    async def batch() -> None:
        async with wide_uow_factory() as uow:
            assert await uow.jobs.update(
                msgspec.structs.replace(job, lease_expires_at=at(100) + LEASE), owner="runner-a"
            )
            renewed.set()
            await asyncio.sleep(0.1)
            await uow.commit()

    async def intruder() -> list[Job]:
        await renewed.wait()
        return await claim(wide_uow_factory, 100, "runner-b")

    _, taken = await asyncio.gather(batch(), intruder())
    assert taken == []
    after = await stored(wide_uow_factory, job.id)
    assert after is not None and after.lease_owner == "runner-a"


# -- keyset pages of an event's orders --------------------------------------------------------


async def test_keyset_pages_walk_every_order_of_a_status_once_in_id_order(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    ticket_type = await world.ticket_type(capacity=100)
    orders = [await world.order(ticket_type=ticket_type) for _ in range(7)]
    await world.order()  # another event's
    refunded = orders[3]
    async with uow_factory() as uow:
        assert await uow.orders.transition(refunded.id, OrderStatus.CONFIRMED, OrderStatus.REFUNDED)
        await uow.commit()
    event_id = ticket_type.event_id
    seen: list[UUID] = []
    after: UUID | None = None
    async with uow_factory() as uow:
        while page := await uow.orders.page_for_event(
            event_id, status=OrderStatus.CONFIRMED, after=after, limit=2
        ):
            assert len(page) <= 2
            seen.extend(o.id for o in page)
            after = page[-1].id
        confirmed = await uow.orders.count_for_event(event_id, status=OrderStatus.CONFIRMED)
        gone = await uow.orders.count_for_event(event_id, status=OrderStatus.REFUNDED)
        first = await uow.orders.page_for_event(
            event_id, status=OrderStatus.CONFIRMED, after=None, limit=1
        )
        none = await uow.orders.page_for_event(
            event_id, status=OrderStatus.CONFIRMED, after=None, limit=0
        )
    expected = sorted(o.id for o in orders if o.id != refunded.id)
    assert seen == expected
    assert [o.id for o in first] == expected[:1]
    assert first[0] == next(o for o in orders if o.id == expected[0])
    assert (confirmed, gone, none) == (6, 1, [])
    async with uow_factory() as uow:
        assert await uow.orders.count_for_event(uuid4(), status=OrderStatus.CONFIRMED) == 0


async def test_times_are_compared_as_instants(uow_factory: UnitOfWorkFactory, world: World) -> None:
    """A lease written in one zone and read against a clock in another still ends on time."""
    from zoneinfo import ZoneInfo

    await world.job(created_at=T0.astimezone(ZoneInfo("Asia/Tokyo")))
    tokyo_now = at(0).astimezone(ZoneInfo("Asia/Tokyo"))
    async with uow_factory() as uow:
        [job] = await uow.jobs.claim(tokyo_now, owner="a", until=tokyo_now + LEASE, limit=1)
        await uow.commit()
    assert job.lease_expires_at == at(0) + LEASE
    assert await claim(uow_factory, 29, "b") == []
    assert len(await claim(uow_factory, 30, "b")) == 1
