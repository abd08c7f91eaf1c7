"""(a) Publisher → consumer round trip: keyed order, envelopes, and effects exactly once."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text

from eltiketi_adapters.kafka import KafkaBus, decode_envelope, ensure_topics
from eltiketi_core.domain.booking import BookingItem, Contact
from eltiketi_core.domain.events import (
    BookingCancelled,
    BookingCreated,
    DomainEvent,
    OrderCreated,
    OrderRefunded,
    decode_event,
)
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.order import StockState
from eltiketi_core.usecases.relay import OutboxRelay
from tests.infra.kafka import KafkaBroker
from tests.integration.kafka.support import Shop, eventually, kafka_test_config

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

NOW = datetime(2031, 5, 4, 18, 0, tzinfo=UTC)
ITEM = BookingItem(ticket_type_id=uuid4(), quantity=1, unit_price=Money(2500, "EUR"))


class ArrivalProbe:
    """A real EventHandler that records what it receives, per booking, in arrival order."""

    name = "probe"
    handles: frozenset[type[DomainEvent]] = frozenset(
        {BookingCreated, BookingCancelled, OrderCreated, OrderRefunded}
    )

    def __init__(self) -> None:
        self.by_booking: dict[UUID, list[UUID]] = defaultdict(list)
        self.count = 0

    async def __call__(self, event: DomainEvent) -> None:
        self.by_booking[event.booking_id].append(event.id)
        self.count += 1


def purchase_events(booking_id: UUID) -> list[DomainEvent]:
    """Two events in each of two families for one booking, in recording order."""
    order_id = uuid4()
    common = {"booking_id": booking_id, "occurred_at": NOW}
    return [
        BookingCreated(
            id=uuid4(), event_id=uuid4(), buyer="b", items=(ITEM,), expires_at=NOW, **common
        ),
        OrderCreated(
            id=uuid4(),
            order_id=order_id,
            event_id=uuid4(),
            buyer="b",
            contact=Contact(email="b@example.test"),
            items=(ITEM,),
            total=Money(2500, "EUR"),
            ticket_ids=(uuid4(),),
            **common,
        ),
        OrderRefunded(
            id=uuid4(), order_id=order_id, event_id=uuid4(), items=(ITEM,), reason="x", **common
        ),
        BookingCancelled(id=uuid4(), event_id=uuid4(), buyer="b", items=(ITEM,), **common),
    ]


async def test_events_of_one_booking_stay_in_order_on_one_partition(
    kafka_broker: KafkaBroker,
) -> None:
    config = kafka_test_config(kafka_broker.bootstrap)
    await ensure_topics(config)
    bookings = [uuid4() for _ in range(12)]
    chains = {booking: purchase_events(booking) for booking in bookings}
    # Interleave the bookings' events, as the outbox does, and publish in several batches.
    interleaved = [event for step in zip(*chains.values(), strict=True) for event in step]
    probe = ArrivalProbe()
    bus = KafkaBus(config)
    bus.subscribe(probe)
    async with bus:
        for start in range(0, len(interleaved), 10):
            await bus.publisher.publish(interleaved[start : start + 10])
        await eventually(lambda: _at_least(probe.count, len(interleaved)))

    for booking, events in chains.items():
        arrived = probe.by_booking[booking]
        families = {"bookings": (0, 3), "orders": (1, 2)}
        for first, second in families.values():
            # within a family topic, the recording order is the arrival order
            assert arrived.index(events[first].id) < arrived.index(events[second].id)
        assert sorted(arrived) == sorted(event.id for event in events)

    # Read the topics back without a group: one key, one partition; envelopes complete.
    reader = AIOKafkaConsumer(bootstrap_servers=kafka_broker.bootstrap, enable_auto_commit=False)
    await reader.start()
    try:
        partitions_of_key: dict[str, set[tuple[str, int]]] = defaultdict(set)
        for topic in (bus.layout.family_topic("bookings"), bus.layout.family_topic("orders")):
            assigned = [TopicPartition(topic, p) for p in range(config.partitions)]
            reader.assign(assigned)
            await reader.seek_to_beginning(*assigned)
            ends = await reader.end_offsets(assigned)
            records = []
            async with asyncio.timeout(10):
                while any([await reader.position(tp) < ends[tp] for tp in assigned]):
                    for batch in (await reader.getmany(timeout_ms=500)).values():
                        records.extend(batch)
            assert len(records) == 2 * len(bookings)
            for record in records:
                envelope = decode_envelope(record.value)
                assert record.key == envelope.key.encode()
                assert envelope.aggregates["booking_id"] == envelope.event().booking_id
                assert dict(record.headers)["eltiketi-type"] == envelope.type.encode()
                partitions_of_key[envelope.key].add((topic, record.partition))
        assert all(len(places) == 2 for places in partitions_of_key.values())
    finally:
        await reader.stop()


async def test_relay_to_real_handlers_moves_stock_and_notifies_exactly_once(
    kafka_broker: KafkaBroker, shop: Shop
) -> None:
    config = kafka_test_config(kafka_broker.bootstrap)
    await ensure_topics(config)
    ticket_type = await shop.ticket_type(capacity=40)
    orders = await shop.buy_many(ticket_type, 10)
    assert await shop.levels(ticket_type) == (10, 0)

    bus = KafkaBus(config)
    inventory = bus.subscribe(shop.ticketing.inventory_handler)
    notifications = bus.subscribe(shop.ticketing.notification_handler)
    relay = OutboxRelay(shop.db.uow_factory(), bus.publisher, shop.clock)
    async with bus:
        assert await relay.drain() == 30  # BookingCreated, PaymentStarted, OrderCreated each
        assert await shop.pending_outbox() == 0

        async def all_sold() -> bool:
            return await shop.levels(ticket_type) == (0, 10) and len(shop.notifier.tickets) == 10

        await eventually(all_sold)
        await eventually(lambda: _at_least(inventory.settled, 10))
        settled_before = inventory.settled, notifications.settled

        # At-least-once: the same OrderCreated events are delivered again.
        created = await _recorded(shop, OrderCreated)
        assert len(created) == 10
        await bus.publisher.publish(created)
        await eventually(lambda: _at_least(inventory.settled, settled_before[0] + 10))
        await eventually(lambda: _at_least(notifications.settled, settled_before[1] + 10))

    assert await shop.levels(ticket_type) == (0, 10)
    assert sorted(shop.notifier.tickets) == sorted(order.id for order in orders)
    assert set((await shop.stock_states(orders)).values()) == {StockState.SOLD}
    assert set((await shop.ticket_notifications()).values()) == {1}
    assert await shop.inbox("inventory") == 10
    assert inventory.dead_lettered == notifications.dead_lettered == 0


async def _recorded(shop: Shop, event_type: type[DomainEvent]) -> list[DomainEvent]:
    """The events of one type the core recorded in the outbox, in outbox order."""
    async with shop.db.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT payload::text FROM outbox WHERE type = :t ORDER BY seq"),
            {"t": event_type.__name__},
        )
        return [decode_event(payload) for (payload,) in rows]


async def _at_least(value: int, wanted: int) -> bool:
    return value >= wanted
