"""(e) One consumer handles many purchases at once, each purchase's events in order.

Messages are read in batches; different keys (booking ids) are handled concurrently,
at most ``KafkaConfig.concurrency`` at a time, and one key's messages one after another.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from uuid import UUID, uuid4

import pytest

from eltiketi_adapters.kafka import KafkaBus, ensure_topics
from eltiketi_core.domain.events import BookingCreated, DomainEvent
from tests.contract.builders import booking_created
from tests.infra.kafka import KafkaBroker
from tests.integration.kafka.support import eventually, kafka_test_config

pytestmark = pytest.mark.kafka

CONCURRENCY = 8


class GatedHandler:
    """The first ``gate`` calls wait at a barrier that opens only when ``gate`` calls are
    in flight together: handled one at a time, they would wait forever (and fail).

    Afterwards every call takes a few random milliseconds, so a consumer that did not
    keep one booking's events in order would show it.
    """

    name = "gated"
    handles: frozenset[type[DomainEvent]] = frozenset({BookingCreated})

    def __init__(self, gate: int) -> None:
        self.barrier = asyncio.Barrier(gate)
        self.gate = gate
        self.calls = 0
        self.passed_gate = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.by_booking: dict[UUID, list[UUID]] = defaultdict(list)
        self.count = 0

    async def __call__(self, event: DomainEvent) -> None:
        self.calls += 1
        gated = self.calls <= self.gate
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if gated:
                await asyncio.wait_for(self.barrier.wait(), timeout=10)
                self.passed_gate += 1
            await asyncio.sleep(random.uniform(0, 0.01))
            if event.id not in self.by_booking[event.booking_id]:  # the inbox's job
                self.by_booking[event.booking_id].append(event.id)
                self.count += 1
        finally:
            self.in_flight -= 1


async def test_many_purchases_are_handled_at_once_and_each_one_in_order(
    kafka_broker: KafkaBroker,
) -> None:
    config = kafka_test_config(kafka_broker.bootstrap, concurrency=CONCURRENCY)
    await ensure_topics(config)
    bookings = [uuid4() for _ in range(3 * CONCURRENCY)]
    chains = {booking: [booking_created(booking) for _ in range(4)] for booking in bookings}
    interleaved = [event for step in zip(*chains.values(), strict=True) for event in step]
    handler = GatedHandler(gate=CONCURRENCY)
    bus = KafkaBus(config)
    consumer = bus.subscribe(handler)
    async with bus:
        for start in range(0, len(interleaved), 16):
            await bus.publisher.publish(interleaved[start : start + 16])
        await eventually(lambda: _true(handler.count == len(interleaved)))
        await eventually(lambda: _true(consumer.settled >= len(interleaved)))

    assert handler.passed_gate == CONCURRENCY  # that many were in flight together
    assert handler.most_in_flight == CONCURRENCY  # and never more than the setting
    for booking, events in chains.items():
        assert handler.by_booking[booking] == [event.id for event in events]
    assert consumer.dead_lettered == 0


async def test_with_concurrency_one_messages_are_handled_one_at_a_time(
    kafka_broker: KafkaBroker,
) -> None:
    config = kafka_test_config(kafka_broker.bootstrap, concurrency=1)
    await ensure_topics(config)
    events = [booking_created(uuid4()) for _ in range(12)]
    handler = GatedHandler(gate=1)  # a barrier of one never waits
    bus = KafkaBus(config)
    consumer = bus.subscribe(handler)
    async with bus:
        await bus.publisher.publish(events)
        await eventually(lambda: _true(consumer.settled >= len(events)))
    assert handler.most_in_flight == 1
    assert handler.count == len(events)


async def _true(value: bool) -> bool:
    return value
