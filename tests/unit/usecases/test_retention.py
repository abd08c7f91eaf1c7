"""Pruning: delivery bookkeeping is forgotten once its retention is over, not before."""

from __future__ import annotations

from datetime import timedelta

from eltiketi_adapters.memory import InMemoryTicketing
from eltiketi_core.ports.stores import IdempotencyRecord
from eltiketi_core.usecases.retention import Pruned, Pruning, Retention


async def _purchase_with_an_idempotent_request(kit: InMemoryTicketing) -> None:
    """One purchase, drained (published outbox rows, inbox rows), and one stored answer."""
    event = await kit.event_on_sale(capacity=5)
    await kit.buy(kit.customer("alice"), event.event.id, {event.ticket_types[0].id: 1})
    async with kit.uow() as uow:
        await uow.idempotency.add(
            IdempotencyRecord(
                user="alice",
                key="k1",
                request_hash="h",
                response=b"{}",
                created_at=kit.clock.now(),
            )
        )
        await uow.commit()


async def _counts(kit: InMemoryTicketing) -> tuple[int, int, int, int]:
    """(outbox rows, of which unpublished, inbox rows, idempotency keys)."""
    storage = kit.storage
    async with kit.uow() as uow:
        pending = len(await uow.outbox.pending(limit=1000))
    return len(storage.outbox), pending, len(storage.inbox), len(storage.idempotency)


async def test_nothing_is_pruned_within_its_retention() -> None:
    kit = InMemoryTicketing()
    await _purchase_with_an_idempotent_request(kit)
    before = await _counts(kit)
    kit.clock.advance(hours=23)

    assert await kit.core.pruning.prune() == Pruned()
    assert await _counts(kit) == before


async def test_each_kind_goes_when_its_own_retention_is_over() -> None:
    kit = InMemoryTicketing()
    await _purchase_with_an_idempotent_request(kit)
    outbox, _, inbox, _ = await _counts(kit)
    assert outbox > 0 and inbox > 0

    kit.clock.advance(hours=25)  # past the idempotency keys' day only
    assert await kit.core.pruning.prune() == Pruned(idempotency_keys=1)

    kit.clock.advance(days=7)  # past the outbox's week
    assert await kit.core.pruning.prune() == Pruned(outbox=outbox)

    kit.clock.advance(days=30)  # past the inbox's month
    pruned = await kit.core.pruning.prune()
    assert pruned == Pruned(inbox=inbox)
    assert pruned.total == inbox
    assert await _counts(kit) == (0, 0, 0, 0)


async def test_an_unpublished_event_is_never_pruned() -> None:
    kit = InMemoryTicketing()
    event = await kit.event_on_sale(capacity=5)
    await kit.buy(kit.customer("alice"), event.event.id, {event.ticket_types[0].id: 1}, drain=False)
    _, pending, _, _ = await _counts(kit)
    assert pending > 0

    kit.clock.advance(days=365)
    await kit.core.pruning.prune()

    assert (await _counts(kit))[1] == pending


async def test_the_retention_is_the_caller_s_to_choose() -> None:
    kit = InMemoryTicketing()
    await _purchase_with_an_idempotent_request(kit)
    outbox, _, inbox, _ = await _counts(kit)
    kit.clock.advance(minutes=2)
    short = Retention(
        outbox=timedelta(minutes=1),
        inbox=timedelta(minutes=1),
        idempotency_keys=timedelta(minutes=1),
    )

    pruned = await Pruning(kit.uow, kit.clock, short).prune()

    assert pruned == Pruned(outbox=outbox, inbox=inbox, idempotency_keys=1)
