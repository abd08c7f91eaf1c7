"""The embedded process's background loops: woken by commits, surviving failures, stopping."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from eltiketi_adapters.memory import InMemoryTicketing, InProcessBus
from eltiketi_app.background.inprocess import InProcess
from eltiketi_app.background.relay import RelayTimings
from eltiketi_app.background.roles import EVERY_ROLE
from eltiketi_app.background.runner import Intervals, Runner
from eltiketi_app.metrics import Metrics
from eltiketi_core.domain.events import DomainEvent
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.money import Money
from eltiketi_core.usecases import ItemRequest, NewEvent, NewTicketType, ReserveRequest
from tests.unit.app.waiting import until

OLGA = Principal(subject="olga", roles=frozenset({"organizer"}))
ALICE = Principal(subject="alice", email="alice@example.com")
SLOW = Intervals(sweep=60, notification_retry=60, jobs=60, prune=60)
SLOW_RELAY = RelayTimings.woken_by_commits(tick=60)


async def _buy(kit: InMemoryTicketing) -> None:
    core = kit.core
    event = await core.catalog.create_event(
        OLGA,
        NewEvent(
            name="Gig",
            venue="Club",
            starts_at=kit.clock.now() + timedelta(days=10),
            timezone="Europe/Berlin",
        ),
    )
    kind = await core.catalog.add_ticket_type(
        OLGA, event.id, NewTicketType(name="GA", price=Money(1000, "EUR"), capacity=5)
    )
    await core.catalog.publish(OLGA, event.id)
    request = ReserveRequest(
        event_id=event.id, items=(ItemRequest(ticket_type_id=kind.id, quantity=1),)
    )
    booking = (await core.bookings.reserve(ALICE, request)).booking
    payment = await core.payments.start(ALICE, booking.id)
    assert payment.provider_reference is not None
    kit.gateway.approve(payment.provider_reference)
    await core.settlement.confirm(ALICE, booking.id, payment.id)


def _runtime(
    kit: InMemoryTicketing,
    bus: InProcessBus,
    metrics: Metrics,
    intervals: Intervals = SLOW,
    relay: RelayTimings = SLOW_RELAY,
) -> Runner:
    """The embedded server's runner: every role, the in-process bus, woken by commits."""
    runtime = Runner(
        EVERY_ROLE,
        InProcess(bus, metrics),
        core=kit.core,
        uow=kit.uow,
        metrics=metrics,
        intervals=intervals,
        relay=relay,
    )
    kit.storage.on_commit.append(runtime.wake_relay)
    return runtime


async def test_a_commit_wakes_the_relay_long_before_its_tick() -> None:
    kit = InMemoryTicketing()
    runtime = _runtime(kit, kit.bus, Metrics())
    await runtime.start()
    try:
        await _buy(kit)
        # the relay ticks every 60 s; the e-ticket goes out now because the commit woke it
        await until(lambda: len(kit.notifier.tickets) == 1)
        assert runtime.health() == "ok"
    finally:
        await runtime.stop()
    assert runtime.health() == "not started"


class FlakyBus(InProcessBus):
    """Fails the first ``failures`` publishes, then delivers."""

    def __init__(self, kit: InMemoryTicketing, failures: int) -> None:
        super().__init__(kit.core.handlers, backoff_seconds=0, concurrency=1)
        self.failures = failures

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("bus away")
        await super().publish(events)


async def test_a_failing_iteration_is_counted_and_retried_not_fatal() -> None:
    kit = InMemoryTicketing()
    flaky = FlakyBus(kit, failures=1)
    metrics = Metrics()
    runtime = _runtime(kit, flaky, metrics, relay=RelayTimings.woken_by_commits(tick=0.05))
    await runtime.start()
    try:
        await _buy(kit)
        await until(lambda: len(kit.notifier.tickets) == 1)
    finally:
        await runtime.stop()
    errors = metrics.registry.get_sample_value(
        "eltiketi_background_errors_total", {"loop": "relay"}
    )
    assert errors is not None
    assert errors >= 1
    assert flaky.failures == 0


async def test_stop_drains_the_outbox_once_more() -> None:
    kit = InMemoryTicketing()
    runtime = _runtime(kit, kit.bus, Metrics())
    kit.storage.on_commit.clear()  # no wake-ups: only the final drain can deliver
    await runtime.start()
    await _buy(kit)
    assert kit.notifier.tickets == []

    await runtime.stop()

    assert len(kit.notifier.tickets) == 1


async def test_a_disabled_runtime_starts_nothing_and_is_healthy() -> None:
    kit = InMemoryTicketing()
    runtime = Runner((), None, core=kit.core, uow=kit.uow, metrics=Metrics(), intervals=SLOW)

    await runtime.start()

    assert runtime.health() == "ok"
    await runtime.stop()


async def test_commits_close_together_are_relayed_as_one_batch() -> None:
    kit = InMemoryTicketing()
    runtime = _runtime(
        kit, kit.bus, Metrics(), Intervals(sweep=60, notification_retry=60, prune=60, coalesce=0.3)
    )
    assert runtime.relay is not None
    relay = runtime.relay  # counts the batches it reads (each is a read of the outbox)
    await runtime.start()
    try:
        for _ in range(5):
            await _buy(kit)  # each buy commits several events, and each commit wakes the relay
            await asyncio.sleep(0.02)  # lets the relay run between buys
        await until(lambda: len(kit.notifier.tickets) == 5)
        # every commit woke the relay, but the wakes within 0.3 s went out together
        assert relay.looks <= 4
    finally:
        await runtime.stop()


async def test_a_queued_job_wakes_the_job_loop_long_before_its_tick() -> None:
    kit = InMemoryTicketing()
    metrics = Metrics()
    runtime = _runtime(kit, kit.bus, metrics)
    await runtime.start()
    try:
        await _buy(kit)
        [event] = list(kit.storage.events.values())
        job = await kit.core.cancellation.cancel(OLGA, event.id)
        runtime.wake_jobs()  # what POST /v1/events/{id}/cancel does after its commit
        # the job loop looks every 60 s; the order is refunded now because it was woken
        await until(lambda: kit.storage.jobs[job.id].status.value == "done")
        await until(lambda: len(kit.notifier.refunds) == 1)
        assert kit.storage.jobs[job.id].orders_refunded == 1
        assert metrics.job_batches._value.get() == 1  # type: ignore[attr-defined]
        assert runtime.health() == "ok"
    finally:
        await runtime.stop()
