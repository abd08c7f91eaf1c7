"""Unit of work: one transaction, the outbox inside it, commit listeners, error translation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence, prune
from eltiketi_core.errors import Conflict, GatewayUnavailable
from eltiketi_core.ports.stores import IdempotencyRecord
from tests.integration.sqlalchemy.support import START, outbox_size, published_event, some_fact


async def test_leaving_without_commit_rolls_back_state_and_events(
    db: SqlAlchemyPersistence,
) -> None:
    woke: list[int] = []
    db.add_commit_listener(lambda: woke.append(1))
    event, _ = await published_event(db, 5)  # this commit records no event: no wake-up
    async with db.unit_of_work() as uow:
        await uow.catalog.set_event_status(event.id, event.status.CANCELLED)
        uow.record(some_fact())
    async with db.unit_of_work() as uow:
        assert (await uow.catalog.get_event(event.id)) == event
    assert await outbox_size(db) == 0
    assert woke == []


async def test_commit_writes_recorded_events_in_order_and_wakes_listeners(
    db: SqlAlchemyPersistence,
) -> None:
    woke: list[int] = []
    db.add_commit_listener(lambda: woke.append(1))
    db.add_commit_listener(lambda: 1 / 0)  # a failing listener must not fail the commit
    facts = [some_fact() for _ in range(3)]
    async with db.unit_of_work() as uow:
        uow.record(facts[0])
        uow.record(*facts[1:])
        await uow.commit()
        # the unit of work may go on after a commit; the next commit is a new transaction
        later = some_fact()
        uow.record(later)
        await uow.commit()
    async with db.unit_of_work() as uow:
        pending = await uow.outbox.pending(limit=10)
    assert [entry.event for entry in pending] == [*facts, later]
    assert [entry.seq for entry in pending] == sorted(entry.seq for entry in pending)
    assert woke == [1, 1]


async def test_an_exception_inside_rolls_back(db: SqlAlchemyPersistence) -> None:
    event, _ = await published_event(db, 5)

    async def failing_use_case() -> None:
        async with db.unit_of_work() as uow:
            await uow.catalog.set_event_status(event.id, event.status.CANCELLED)
            raise RuntimeError("use case failed")

    with pytest.raises(RuntimeError):
        await failing_use_case()
    async with db.unit_of_work() as uow:
        assert (await uow.catalog.get_event(event.id)) == event


async def test_a_duplicate_row_is_a_conflict_not_a_driver_error(db: SqlAlchemyPersistence) -> None:
    event, _ = await published_event(db, 5)
    with pytest.raises(Conflict) as raised:
        async with db.unit_of_work() as uow:
            await uow.catalog.add_event(event)
    assert raised.value.code == "constraint_violation"


async def test_prune_removes_only_what_is_old_enough(db: SqlAlchemyPersistence) -> None:
    old, recent = some_fact(), some_fact()
    async with db.unit_of_work() as uow:
        uow.record(old, recent)
        await uow.commit()
        entries = await uow.outbox.pending(limit=10)
        await uow.outbox.mark_published([entries[0].seq], START - timedelta(days=8))
        await uow.outbox.mark_published([entries[1].seq], START - timedelta(days=1))
        assert await uow.inbox.claim("inventory", "e-old", START - timedelta(days=31))
        assert await uow.inbox.claim("inventory", "e-new", START - timedelta(days=2))
        for key, age in (("k-old", timedelta(hours=25)), ("k-new", timedelta(hours=1))):
            await uow.idempotency.add(
                IdempotencyRecord(
                    user="u", key=key, request_hash="h", response=b"{}", created_at=START - age
                )
            )
        await uow.commit()
    result = await prune(db.uow_factory(), START)
    assert (result.outbox, result.inbox, result.idempotency) == (1, 1, 1)
    async with db.unit_of_work() as uow:
        assert await uow.idempotency.get("u", "k-old") is None
        assert await uow.idempotency.get("u", "k-new") is not None
        assert not await uow.inbox.claim("inventory", "e-new", START)
        assert await uow.inbox.claim("inventory", "e-old", START)  # forgotten, so claimable


async def test_an_unreachable_database_is_gateway_unavailable() -> None:
    async with SqlAlchemyPersistence(
        "postgresql://postgres@127.0.0.1:1/nowhere", pool_timeout=2
    ) as db:
        with pytest.raises(GatewayUnavailable):
            async with db.unit_of_work():
                pass
        with pytest.raises(GatewayUnavailable):
            await db.ping()
