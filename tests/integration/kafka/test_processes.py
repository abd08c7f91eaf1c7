"""(e) and (f): the API, the relay and the consumers as separate processes.

``eltiketi serve`` (PostgreSQL, ``ELTIKETI_KAFKA_BOOTSTRAP``) takes the orders;
``eltiketi worker relay`` publishes the outbox; ``eltiketi worker inventory`` and
``eltiketi worker notifications`` consume. E-tickets are ``.eml`` files in the
shared data folder.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.infra.kafka import KafkaBroker
from tests.integration.kafka.deployment import Deployment, buyer, deployment
from tests.integration.kafka.support import eventually
from tests.integration.sqlalchemy.database import fresh_postgres_database

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    # Not migrated here: the API (embedded mode) migrates it on start, as in real life.
    async with fresh_postgres_database("kafka_e2e", migrate=False) as url:
        yield url


async def test_a_confirmed_order_yields_one_e_ticket_and_moves_stock_held_to_sold(
    tmp_path: Path, database_url: str, kafka_broker: KafkaBroker
) -> None:
    with deployment(tmp_path, database_url, kafka_broker.bootstrap) as running:
        running.start_api()
        running.start_worker("relay", "relay")
        running.start_worker("inventory", "inventory")
        running.start_worker("notifications", "notifications")
        async with buyer(running) as shop:
            event_id, ticket_type_id, olga = await shop.sale(capacity=20)
            orders = [
                await shop.buy(name, event_id, ticket_type_id, quantity)
                for name, quantity in (("alice", 2), ("bob", 1), ("carol", 3))
            ]
            assert {order["status"] for order in orders} == {"confirmed"}

            async def sold() -> bool:
                level = await shop.stock(event_id, olga)
                return (level["held"], level["sold"]) == (0, 6)

            await _eventually(running, sold)
            await _eventually(running, lambda: _true(len(running.tickets_mail()) >= 3))
            # Let any duplicate that might come, come: workers stay up a little longer.
            await asyncio.sleep(1.5)
            level = await shop.stock(event_id, olga)
            assert (level["held"], level["sold"], level["available"]) == (0, 6, 14)
        assert running.mail_recipients() == [
            "alice@example.test",
            "bob@example.test",
            "carol@example.test",
        ]
        # SIGTERM: each worker finishes what it holds and exits 0.
        for name in ("relay", "inventory", "notifications"):
            assert await running.terminate(name) == 0, running.logs()
            assert "worker stopped" in running.processes[name].stderr()


async def test_a_consumer_killed_mid_stream_and_restarted_loses_and_repeats_nothing(
    tmp_path: Path, database_url: str, kafka_broker: KafkaBroker
) -> None:
    with deployment(tmp_path, database_url, kafka_broker.bootstrap) as running:
        running.start_api()
        running.start_worker("relay", "relay")
        running.start_worker("notifications", "notifications")
        running.start_worker("inventory", "inventory")
        buyers = [f"buyer{n:02d}" for n in range(24)]
        async with buyer(running) as shop:
            event_id, ticket_type_id, olga = await shop.sale(capacity=100)
            for n, name in enumerate(buyers):
                await shop.buy(name, event_id, ticket_type_id)
                if n == 5:
                    # the inventory worker has started consuming …
                    await _eventually(running, lambda: _sold_at_least(shop, event_id, olga, 1))
                if n == 11:
                    # … and dies without any chance to commit, in the middle of the sale
                    running.kill("inventory")
                if n == 17:
                    running.start_worker("inventory-2", "inventory")

            async def all_sold() -> bool:
                level = await shop.stock(event_id, olga)
                return (level["held"], level["sold"]) == (0, len(buyers))

            await _eventually(running, all_sold, within=45)
            await _eventually(running, lambda: _true(len(running.tickets_mail()) >= len(buyers)))
            await asyncio.sleep(1.5)
            level = await shop.stock(event_id, olga)
            assert (level["held"], level["sold"]) == (0, len(buyers))
        per_buyer = Counter(running.mail_recipients())
        assert per_buyer == Counter({f"{name}@example.test": 1 for name in buyers})
        for name in ("relay", "notifications", "inventory-2"):
            assert await running.terminate(name) == 0, running.logs()


async def _sold_at_least(shop: object, event_id: str, organizer: dict[str, str], n: int) -> bool:
    level = await shop.stock(event_id, organizer)  # type: ignore[attr-defined]
    return bool(level["sold"] >= n)


async def _eventually(running: Deployment, check: object, within: float = 30) -> None:
    try:
        await eventually(check, within=within)  # type: ignore[arg-type]
    except TimeoutError:
        pytest.fail(f"timed out; process output:\n{running.logs()}")


async def _true(value: bool) -> bool:
    return value
