"""Idempotency records, outbox, inbox and notification records."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

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


async def test_claim_due_takes_queued_and_failed_records_whose_time_has_come(
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
    suppressed = new_notification(
        "refund:g", status=NotificationStatus.SUPPRESSED, next_attempt_at=at(1)
    )
    async with uow_factory() as uow:
        for r in (
            not_yet,
            failed_exactly_now,
            sent,
            queued_on_time,
            unscheduled,
            failed_early,
            suppressed,
        ):
            await uow.notifications.add(r)
        await uow.commit()
    lease = uuid4()
    async with uow_factory() as uow:
        first = await uow.notifications.claim_due(at(60), lease=uuid4(), until=at(75), limit=1)
        await uow.commit()
    async with uow_factory() as uow:
        claimed = await uow.notifications.claim_due(at(60), lease=lease, until=at(75), limit=10)
        await uow.commit()
    assert [r.key for r in first] == ["tickets:a"]
    assert [r.key for r in claimed] == ["tickets:b", "tickets:c"]
    assert all(r.lease == lease and r.next_attempt_at == at(75) for r in claimed)
    async with uow_factory() as uow:
        assert await uow.notifications.get("tickets:b", "email") == claimed[0]
        assert (
            await uow.notifications.claim_due(at(60), lease=uuid4(), until=at(99), limit=10) == []
        )


async def test_a_lease_held_is_not_reclaimable_and_a_lease_run_out_is(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """The sender renews while it works; a dead one stops, and its record is due again when
    the lease it last wrote runs out. Whoever lost the record can no longer renew or finish it."""
    async with uow_factory() as uow:
        await uow.notifications.add(new_notification("tickets:held", next_attempt_at=at(0)))
        await uow.notifications.add(new_notification("tickets:done", next_attempt_at=at(0)))
        await uow.commit()
    worker, other = uuid4(), uuid4()
    async with uow_factory() as uow:
        claimed = await uow.notifications.claim_due(at(0), lease=worker, until=at(15), limit=10)
        await uow.commit()
    assert len(claimed) == 2
    held = next(r for r in claimed if r.key == "tickets:held")
    done = next(r for r in claimed if r.key == "tickets:done")
    async with uow_factory() as uow:
        # the worker finishes one message … and keeps the other one alive
        assert await uow.notifications.finish(
            msgspec.structs.replace(
                done, lease=None, status=NotificationStatus.SENT, next_attempt_at=None
            ),
            lease=worker,
        )
        assert await uow.notifications.renew(worker, at(25)) == 1
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.notifications.claim_due(at(20), lease=other, until=at(35), limit=10) == []
        assert (await uow.notifications.get("tickets:done", "email")).next_attempt_at is None  # type: ignore[union-attr]
    # the worker dies: no more renewals; at 25 the lease has run out
    async with uow_factory() as uow:
        [taken] = await uow.notifications.claim_due(at(25), lease=other, until=at(40), limit=10)
        await uow.commit()
    assert (taken.key, taken.lease, taken.next_attempt_at) == ("tickets:held", other, at(40))
    async with uow_factory() as uow:
        assert await uow.notifications.renew(worker, at(60)) == 0
        late = msgspec.structs.replace(held, lease=None, status=NotificationStatus.SENT)
        assert not await uow.notifications.finish(late, lease=worker)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.notifications.get("tickets:held", "email") == taken


async def test_concurrent_claimers_take_each_due_record_once(
    wide_uow_factory: UnitOfWorkFactory,
) -> None:
    async with wide_uow_factory() as uow:
        for n in range(30):
            await uow.notifications.add(new_notification(f"tickets:{n}", next_attempt_at=at(n)))
        await uow.commit()

    async def claimer() -> list[str]:
        taken: list[str] = []
        while True:
            async with wide_uow_factory() as uow:
                batch = await uow.notifications.claim_due(
                    at(60), lease=uuid4(), until=at(120), limit=4
                )
                await asyncio.sleep(0)
                await uow.commit()
            if not batch:
                return taken
            taken.extend(r.key for r in batch)

    results = await asyncio.gather(*(claimer() for _ in range(5)))
    everything = [key for keys in results for key in keys]
    assert sorted(everything) == sorted(f"tickets:{n}" for n in range(30))


async def test_the_resend_slot_is_claimed_once_per_quiet_period(
    uow_factory: UnitOfWorkFactory,
) -> None:
    sent = msgspec.structs.replace(
        new_notification("tickets:o", created_at=at(0)),
        status=NotificationStatus.SENT,
        attempts=1,
        sent_at=at(5),
        requested_at=at(0),
    )
    async with uow_factory() as uow:
        await uow.notifications.add(sent)
        await uow.commit()

    async def claim(now: float, quiet_since: float):  # type: ignore[no-untyped-def]
        async with uow_factory() as uow:
            won = await uow.notifications.claim_resend(
                "tickets:o",
                "email",
                now=at(now),
                quiet_since=at(quiet_since),
                lease=lease,
                until=at(now + 15),
            )
            await uow.commit()
        return won

    lease = uuid4()
    assert await claim(30, 4) is None  # sent at 5, after the start of the quiet period
    won = await claim(70, 10)
    assert won is not None
    assert (won.generation, won.requested_at, won.status, won.attempts) == (
        1,
        at(70),
        NotificationStatus.QUEUED,
        0,
    )
    assert (won.lease, won.next_attempt_at, won.sent_at) == (lease, at(85), at(5))
    assert await claim(100, 60) is None  # asked for at 70: never twice in a quiet period
    assert await claim(80, 75) is None  # … nor while its sender holds it
    async with uow_factory() as uow:
        assert (
            await uow.notifications.claim_resend(
                "tickets:other", "email", now=at(1), quiet_since=at(0), lease=lease, until=at(2)
            )
            is None
        )


async def test_a_resend_can_take_a_record_whose_sender_died(
    uow_factory: UnitOfWorkFactory,
) -> None:
    orphan = msgspec.structs.replace(
        new_notification("tickets:o", created_at=at(0), next_attempt_at=at(15)),
        lease=uuid4(),
        requested_at=at(0),
    )
    async with uow_factory() as uow:
        await uow.notifications.add(orphan)
        await uow.commit()
    mine = uuid4()
    async with uow_factory() as uow:
        won = await uow.notifications.claim_resend(
            "tickets:o", "email", now=at(100), quiet_since=at(40), lease=mine, until=at(115)
        )
        await uow.commit()
    assert won is not None and won.lease == mine and won.generation == 1


async def test_concurrent_resends_claim_the_slot_once(
    wide_uow_factory: UnitOfWorkFactory,
) -> None:
    async with wide_uow_factory() as uow:
        for channel in ("email", "sms"):
            await uow.notifications.add(
                msgspec.structs.replace(
                    new_notification("tickets:o", channel, created_at=at(0)),
                    status=NotificationStatus.SENT,
                    sent_at=at(1),
                )
            )
        await uow.commit()

    async def resend() -> int:
        async with wide_uow_factory() as uow:
            won = 0
            for channel in ("email", "sms"):
                record = await uow.notifications.claim_resend(
                    "tickets:o",
                    channel,
                    now=at(120),
                    quiet_since=at(60),
                    lease=uuid4(),
                    until=at(135),
                )
                won += record is not None
                await asyncio.sleep(0)
            await uow.commit()
        return won

    assert sorted(await asyncio.gather(*(resend() for _ in range(10)))) == [0] * 9 + [2]


async def test_quota_counts_up_to_the_limit_per_scope_and_channel(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        taken = [await uow.notifications.take_quota("booking:b1", "email", 2) for _ in range(3)]
        assert await uow.notifications.take_quota("booking:b1", "sms", 2)
        assert await uow.notifications.take_quota("booking:b2", "email", 2)
        assert not await uow.notifications.take_quota("booking:b3", "email", 0)
        await uow.commit()
    assert taken == [True, True, False]
    async with uow_factory() as uow:
        assert not await uow.notifications.take_quota("booking:b1", "email", 2)
        assert await uow.notifications.take_quota("booking:b1", "email", 3)  # a raised limit
    async with uow_factory() as uow:  # rolled back: not counted
        assert await uow.notifications.take_quota("booking:b1", "email", 3)


async def test_concurrent_quota_takers_never_pass_the_limit(
    wide_uow_factory: UnitOfWorkFactory,
) -> None:
    async def take() -> bool:
        async with wide_uow_factory() as uow:
            won = await uow.notifications.take_quota("booking:hot", "email", 3)
            await asyncio.sleep(0)
            await uow.commit()
        return won

    assert sum(await asyncio.gather(*(take() for _ in range(12)))) == 3


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
