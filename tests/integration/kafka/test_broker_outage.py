"""(d) Kafka frozen for ~10 s under load: sales continue into the outbox, which drains after;
no event is lost and no effect happens twice."""

from __future__ import annotations

import asyncio
import time

import pytest

from eltiketi_adapters.kafka import KafkaBus, ensure_topics
from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from eltiketi_app.background.lease import PostgresAdvisoryLease
from eltiketi_app.background.relay import RelayLoop, RelayTimings
from eltiketi_core.domain.order import Order, StockState
from eltiketi_core.usecases.relay import OutboxRelay
from tests.infra.fixtures import KafkaBrokerFactory
from tests.integration.kafka.support import Shop, eventually, kafka_test_config

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

OUTAGE_SECONDS = 10.0


async def test_outbox_absorbs_a_kafka_outage_and_drains_after_it(
    kafka_broker_factory: KafkaBrokerFactory, shop: Shop, db: SqlAlchemyPersistence
) -> None:
    broker = kafka_broker_factory()  # private: pausing it must not stall other tests
    config = kafka_test_config(broker.bootstrap, request_timeout_ms=2_000)
    await ensure_topics(config)
    ticket_type = await shop.ticket_type(capacity=1_000)

    consumers = KafkaBus(config)
    inventory = consumers.subscribe(shop.ticketing.inventory_handler)
    notifications = consumers.subscribe(shop.ticketing.notification_handler)
    relay_bus = KafkaBus(config)
    relay = RelayLoop(
        OutboxRelay(db.uow_factory(), relay_bus.publisher, shop.clock),
        PostgresAdvisoryLease(db.url.render_as_string(hide_password=False)),
        RelayTimings(poll_interval=0.05, base_backoff=0.2, max_backoff=1.0),
    )
    stopping = asyncio.Event()
    orders: list[Order] = []
    selling = True
    pending_during_outage: list[int] = []

    async def sell() -> None:
        n = 0
        while selling:
            orders.append(await shop.buy(ticket_type, n))
            n += 1
            await asyncio.sleep(0.02)

    async with consumers, relay_bus:
        relay_task = asyncio.create_task(relay.run(stopping))
        seller = asyncio.create_task(sell())
        await eventually(lambda: _true(len(shop.notifier.tickets) >= 5))

        broker.pause()
        try:
            sold_before_outage = len(orders)
            deadline = time.monotonic() + OUTAGE_SECONDS
            while time.monotonic() < deadline:
                pending_during_outage.append(await shop.pending_outbox())
                await asyncio.sleep(0.5)
            sold_during_outage = len(orders) - sold_before_outage
        finally:
            broker.resume()

        selling = False
        await seller
        assert relay.failed_batches > 0  # the relay did hit the frozen broker

        async def drained() -> bool:
            return await shop.pending_outbox() == 0

        await eventually(drained, within=40)

        async def all_sold() -> bool:
            return await shop.levels(ticket_type) == (0, len(orders))

        await eventually(all_sold, within=40)
        await eventually(lambda: _true(len(shop.notifier.tickets) == len(orders)), within=40)
        stopping.set()
        await relay_task

    # the API kept selling while Kafka was frozen, and the outbox grew meanwhile
    assert sold_during_outage >= 20
    assert max(pending_during_outage) >= sold_during_outage
    # nothing lost, nothing twice
    assert set((await shop.stock_states(orders)).values()) == {StockState.SOLD}
    assert sorted(shop.notifier.tickets) == sorted(order.id for order in orders)
    assert set((await shop.ticket_notifications()).values()) == {1}
    assert await shop.inbox("inventory") == len(orders)
    assert inventory.dead_lettered == notifications.dead_lettered == 0


async def _true(value: bool) -> bool:
    return value
