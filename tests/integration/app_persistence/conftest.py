"""Fixtures for persistence through the app and the core on real databases (issue 3).

PostgreSQL: one database per test session for the tests that share it (created and
migrated once, dropped at the end); the crash test makes its own, so its SQL checks see
only what its server wrote. Every test creates its own events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from tests.integration.sqlalchemy.database import fresh_postgres_database


@pytest.fixture(scope="session")
async def persistence_pg_url() -> AsyncIterator[str]:
    async with fresh_postgres_database("app_persistence") as url:
        yield url


@pytest.fixture
async def pg(persistence_pg_url: str) -> AsyncIterator[SqlAlchemyPersistence]:
    """The SQL adapter on the session's database, with a small pool."""
    async with SqlAlchemyPersistence(persistence_pg_url, pool_size=8, max_overflow=4) as db:
        yield db
