"""Fixtures for the Kafka bus tests: the session's tansu broker, a PostgreSQL database.

Each test gets its own topic prefix and consumer groups (``test_kafka_config``), so
tests share the broker without seeing each other's messages; the database is
emptied before each test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from tests.integration.kafka.support import Shop
from tests.integration.sqlalchemy.database import fresh_postgres_database, truncate_all


@pytest.fixture(scope="session")
async def kafka_pg_url() -> AsyncIterator[str]:
    async with fresh_postgres_database("kafka") as url:
        yield url


@pytest.fixture
async def db(kafka_pg_url: str) -> AsyncIterator[SqlAlchemyPersistence]:
    async with SqlAlchemyPersistence(kafka_pg_url, pool_size=6, max_overflow=4) as persistence:
        await truncate_all(persistence)
        yield persistence


@pytest.fixture
def shop(db: SqlAlchemyPersistence) -> Shop:
    return Shop(db)
