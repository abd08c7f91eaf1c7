"""Idempotency records, outbox, inbox and notification records."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import msgspec

from eltiketi_core.ports.stores import IdempotencyRecord, NotificationStatus
from eltiketi_core.ports.uow import UnitOfWorkFactory
from tests.contract.builders import T0, at, booking_created, new_notification


def record(user: str, key: str, *, seconds: float = 0, body: bytes = b"{}") -> IdempotencyRecord:
    return IdempotencyRecord(
        user=user, key=key, request_hash="h-" + key, response=body, created_at=at(seconds)
    )


# -- idempotency ------------------------------------------------------------------------------


async def test_idempotency_record_per_user_and_key(uow_factory: UnitOfWorkFactory) -> None:
    first = record("alice", "k1", body=b'{"id": 1}')
    async with uow_factory() as uow:
        assert await uow.idempotency.add(first)
        assert not await uow.idempotency.add(record("alice", "k1", body=b'{"id": 2}'))
        assert await uow.idempotency.add(record("bob", "k1"))
        assert await uow.idempotency.add(record("alice", "k2"))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.idempotency.get("alice", "k1") == first
        assert await uow.idempotency.get("carol", "k1") is None


async def test_concurrent_requests_with_one_key_store_one_answer(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async def attempt(n: int) -> bool:
        async with uow_factory() as uow:
            added = await uow.idempotency.add(record("alice", "same", body=b"%d" % n))
            await uow.commit()
        return added

    assert sum(await asyncio.gather(*(attempt(n) for n in range(20)))) == 1


async def test_idempotency_prune_removes_records_older_than_the_cutoff(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        for n in range(3):
            await uow.idempotency.add(record("alice", f"k{n}", seconds=n * 10))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.idempotency.prune(at(10)) == 1  # strictly before: 0s only
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.idempotency.get("alice", "k0") is None
        assert await uow.idempotency.get("alice", "k1") is not None
        assert await uow.idempotency.prune(T0 - timedelta(days=1)) == 0


# -- outbox -----------------------------------------------------------------------------------


async def test_outbox_pending_in_order_with_limit_and_marking(
    uow_factory: UnitOfWorkFactory,
) -> None:
    events = [booking_created(seconds=n) for n in range(5)]
    async with uow_factory() as uow:
        await uow.outbox.add(events[:2])
        await uow.commit()
    async with uow_factory() as uow:
        uow.record(*events[2:])
        await uow.commit()
    async with uow_factory() as uow:
        first_two = await uow.outbox.pending(limit=2)
        assert [e.event for e in first_two] == events[:2]
        await uow.outbox.mark_published([e.seq for e in first_two], at(100))
        await uow.outbox.mark_published([first_two[0].seq], at(200))  # again: harmless
        await uow.commit()
    async with uow_factory() as uow:
        rest = await uow.outbox.pending(limit=10)
        assert [e.event for e in rest] == events[2:]
        assert min(e.seq for e in rest) > max(e.seq for e in first_two)
        assert await uow.outbox.pending(limit=0) == []


async def test_outbox_events_read_back_equal(uow_factory: UnitOfWorkFactory) -> None:
    event = booking_created()
    async with uow_factory() as uow:
        uow.record(event)
        await uow.commit()
    async with uow_factory() as uow:
        [entry] = await uow.outbox.pending(limit=1)
    assert entry.event == event
    assert type(entry.event) is type(event)
    assert msgspec.json.encode(entry.event) == msgspec.json.encode(event)


async def test_outbox_prune_removes_only_old_published_entries(
    uow_factory: UnitOfWorkFactory,
) -> None:
    events = [booking_created() for _ in range(3)]
    async with uow_factory() as uow:
        uow.record(*events)
        await uow.commit()
    async with uow_factory() as uow:
        entries = await uow.outbox.pending(limit=10)
        await uow.outbox.mark_published([entries[0].seq], at(10))
        await uow.outbox.mark_published([entries[1].seq], at(20))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.prune(at(20)) == 1
        await uow.commit()
    async with uow_factory() as uow:
        assert [e.event for e in await uow.outbox.pending(limit=10)] == [events[2]]
        assert await uow.outbox.prune(at(10_000)) == 1  # the unpublished one stays
        await uow.commit()
    async with uow_factory() as uow:
        assert [e.event for e in await uow.outbox.pending(limit=10)] == [events[2]]


# -- inbox ------------------------------------------------------------------------------------


async def test_inbox_claims_once_per_consumer(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.inbox.claim("inventory", "e1", at(0))
        assert not await uow.inbox.claim("inventory", "e1", at(1))
        assert await uow.inbox.claim("notifications", "e1", at(0))
        assert await uow.inbox.claim("inventory", "e2", at(0))
        await uow.commit()
    async with uow_factory() as uow:
        assert not await uow.inbox.claim("inventory", "e1", at(2))


async def test_concurrent_deliveries_are_claimed_once(uow_factory: UnitOfWorkFactory) -> None:
    async def deliver() -> bool:
        async with uow_factory() as uow:
            claimed = await uow.inbox.claim("inventory", "same-event", at(0))
            await uow.commit()
        return claimed

    assert sum(await asyncio.gather(*(deliver() for _ in range(20)))) == 1


async def test_an_unclaimed_delivery_rolled_back_can_be_claimed_again(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        assert await uow.inbox.claim("inventory", "e1", at(0))  # handler failed: no commit
    async with uow_factory() as uow:
        assert await uow.inbox.claim("inventory", "e1", at(1))


async def test_inbox_prune(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.inbox.claim("inventory", "old", at(0))
        await uow.inbox.claim("inventory", "new", at(50))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.inbox.prune(at(50)) == 1
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.inbox.claim("inventory", "old", at(60))
        assert not await uow.inbox.claim("inventory", "new", at(60))


# -- notification records ---------------------------------------------------------------------


async def test_a_message_is_queued_once_per_channel(uow_factory: UnitOfWorkFactory) -> None:
    email = new_notification("tickets:o1", "email")
    async with uow_factory() as uow:
        assert await uow.notifications.add(email)
        assert not await uow.notifications.add(new_notification("tickets:o1", "email"))
        assert await uow.notifications.add(new_notification("tickets:o1", "sms"))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.notifications.get("tickets:o1", "email") == email
        assert await uow.notifications.get("tickets:o2", "email") is None


async def test_concurrent_senders_queue_one_message(uow_factory: UnitOfWorkFactory) -> None:
    async def attempt() -> bool:
        async with uow_factory() as uow:
            added = await uow.notifications.add(new_notification("tickets:same"))
            await uow.commit()
        return added

    assert sum(await asyncio.gather(*(attempt() for _ in range(20)))) == 1


async def test_notification_update(uow_factory: UnitOfWorkFactory) -> None:
    queued = new_notification("refund:r1")
    sent = msgspec.structs.replace(
        queued, status=NotificationStatus.SENT, attempts=1, sent_at=at(5), next_attempt_at=None
    )
    async with uow_factory() as uow:
        await uow.notifications.add(queued)
        await uow.notifications.update(sent)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.notifications.get("refund:r1", "email") == sent


async def test_due_lists_queued_and_failed_records_whose_time_has_come(
    uow_factory: UnitOfWorkFactory,
) -> None:
    failed_early = new_notification(
        "tickets:a", status=NotificationStatus.FAILED, next_attempt_at=at(10)
    )
    queued_on_time = new_notification("tickets:b", next_attempt_at=at(30))
    failed_exactly_now = new_notification(
        "tickets:c", status=NotificationStatus.FAILED, next_attempt_at=at(60)
    )
    not_yet = new_notification("tickets:d", next_attempt_at=at(61))
    sent = new_notification("tickets:e", status=NotificationStatus.SENT, next_attempt_at=at(1))
    unscheduled = new_notification("tickets:f", status=NotificationStatus.FAILED)
    async with uow_factory() as uow:
        for r in (not_yet, failed_exactly_now, sent, queued_on_time, unscheduled, failed_early):
            await uow.notifications.add(r)
        await uow.commit()
    async with uow_factory() as uow:
        due = await uow.notifications.due(at(60), limit=10)
        first = await uow.notifications.due(at(60), limit=1)
    assert [r.key for r in due] == ["tickets:a", "tickets:b", "tickets:c"]
    assert [r.key for r in first] == ["tickets:a"]


async def test_for_key_prefix_matches_literally(uow_factory: UnitOfWorkFactory) -> None:
    wanted = [
        new_notification("payment_problem:p1", "email", created_at=at(0)),
        new_notification("payment_problem:p1", "sms", created_at=at(1)),
        new_notification("payment_problem:p2", "email", created_at=at(2)),
    ]
    async with uow_factory() as uow:
        for r in wanted:
            await uow.notifications.add(r)
        await uow.notifications.add(new_notification("paymentXproblem:p3"))  # "_" is no wildcard
        await uow.notifications.add(new_notification("tickets:payment_problem:p4"))
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.notifications.for_key_prefix("payment_problem:")
        one = await uow.notifications.for_key_prefix("payment_problem:p1")
        nothing = await uow.notifications.for_key_prefix("100%")
    assert [(r.key, r.channel) for r in found] == [(r.key, r.channel) for r in wanted]
    assert len(one) == 2
    assert nothing == []
