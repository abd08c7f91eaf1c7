"""(c) Two relays over one outbox: one publishes at a time, a booking's events stay in order,
and a hand-over between them causes no second effect."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from uuid import UUID

import pytest

from eltiketi_adapters.kafka import KafkaBus, KafkaConfig, ensure_topics
from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from eltiketi_app.background.lease import PostgresAdvisoryLease
from eltiketi_app.background.relay import RelayLoop, RelayTimings
from eltiketi_core.domain.events import DomainEvent, OrderCreated, OrderRefunded
from eltiketi_core.domain.order import StockState
from eltiketi_core.usecases.relay import OutboxRelay
from tests.infra.kafka import KafkaBroker
from tests.integration.kafka.support import Shop, eventually, kafka_test_config

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

FAST = RelayTimings(poll_interval=0.05, lease_retry=0.1, base_backoff=0.1, max_backoff=0.5, batch=7)


class OrderProbe:
    """Records, per booking, the order in which the orders topic delivers its events."""

    name = "order-probe"
    handles: frozenset[type[DomainEvent]] = frozenset({OrderCreated, OrderRefunded})

    def __init__(self) -> None:
        self.arrivals: dict[UUID, list[str]] = defaultdict(list)
        self.seen: set[UUID] = set()

    async def __call__(self, event: DomainEvent) -> None:
        self.arrivals[event.booking_id].append(event.type)
        self.seen.add(event.id)


class RelayProcess:
    """One relay 'process': its own Kafka clients, its own lease connection."""

    def __init__(self, config: KafkaConfig, db: SqlAlchemyPersistence, shop: Shop) -> None:
        self.bus = KafkaBus(config)
        self.lease = PostgresAdvisoryLease(str(db.url.render_as_string(hide_password=False)))
        self.loop = RelayLoop(
            OutboxRelay(db.uow_factory(), self.bus.publisher, shop.clock, batch=FAST.batch),
            self.lease,
            FAST,
        )
        self.stopping = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.bus.start()
        self.task = asyncio.create_task(self.loop.run(self.stopping))

    async def stop(self) -> None:
        self.stopping.set()
        if self.task is not None:
            await self.task
        await self.bus.stop()


async def test_two_relays_publish_in_order_one_at_a_time_without_second_effects(
    kafka_broker: KafkaBroker, shop: Shop, db: SqlAlchemyPersistence
) -> None:
    config = kafka_test_config(kafka_broker.bootstrap)
    await ensure_topics(config)
    ticket_type = await shop.ticket_type(capacity=100)
    orders = await shop.buy_many(ticket_type, 12)
    for order in orders[:6]:
        await shop.cancel(order)

    consumers = KafkaBus(config)
    probe = OrderProbe()
    consumers.subscribe(probe)
    inventory = consumers.subscribe(shop.ticketing.inventory_handler)
    consumers.subscribe(shop.ticketing.notification_handler)
    first, second = RelayProcess(config, db, shop), RelayProcess(config, db, shop)
    both_held: list[bool] = []

    async def watch_leases() -> None:
        while True:
            both_held.append(first.lease.held and second.lease.held)
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch_leases())
    async with consumers:
        await first.start()
        await second.start()
        # The shop keeps selling while the relays run.
        orders += await shop.buy_many(ticket_type, 12, start=12)
        for order in orders[12:18]:
            await shop.cancel(order)
        # Hand-over: whoever holds the lease stops; the other must take over.
        holder, standby = (first, second) if first.lease.held else (second, first)
        await holder.stop()
        orders += await shop.buy_many(ticket_type, 6, start=24)

        async def drained() -> bool:
            return await shop.pending_outbox() == 0

        await eventually(drained)
        await eventually(lambda: _true(standby.lease.held))
        total = len(orders) + 12  # OrderCreated for each, OrderRefunded for 12
        await eventually(lambda: _true(len(probe.seen) == total))

        async def settled() -> bool:
            return await shop.levels(ticket_type) == (0, len(orders) - 12)

        await eventually(settled)
        await eventually(lambda: _true(len(shop.notifier.tickets) == len(orders)))
        await standby.stop()
    watcher.cancel()

    assert not any(both_held)
    assert first.loop.published > 0 and second.loop.published > 0
    for order in orders:
        arrivals = probe.arrivals[order.booking_id]
        assert arrivals[0] == "OrderCreated", arrivals
    refunded = {order.booking_id for order in orders[:6] + orders[12:18]}
    for booking in refunded:
        assert "OrderRefunded" in probe.arrivals[booking]
    # no second effect: counters, stock states, one e-ticket per order, one inbox row per event
    states = await shop.stock_states(orders)
    assert sum(state is StockState.SOLD for state in states.values()) == len(orders) - 12
    assert sum(state is StockState.RELEASED for state in states.values()) == 12
    assert sorted(shop.notifier.tickets) == sorted(order.id for order in orders)
    assert set((await shop.ticket_notifications()).values()) == {1}
    assert await shop.inbox("inventory") == len(orders) + 12
    assert inventory.dead_lettered == 0


async def _true(value: bool) -> bool:
    return value
