"""Fixtures for the SQLAlchemy adapter's integration tests.

PostgreSQL: one database per test session (unique name, migrated once, dropped
at the end), emptied before each test; pools stay small unless a test is
about load. Unreachable PostgreSQL skips the tests locally and fails them
under ``CI=true``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from tests.integration.sqlalchemy.database import (
    fresh_postgres_database,
    sqlite_database,
    truncate_all,
)


@pytest.fixture(scope="session")
async def pg_url() -> AsyncIterator[str]:
    async with fresh_postgres_database("sqla") as url:
        yield url


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[SqlAlchemyPersistence]:
    """A small-pool persistence on the session's PostgreSQL database, emptied first."""
    async with SqlAlchemyPersistence(pg_url, pool_size=4, max_overflow=4) as db:
        await truncate_all(db)
        yield db


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    return await sqlite_database(tmp_path)


@pytest.fixture
async def sqlite(sqlite_url: str) -> AsyncIterator[SqlAlchemyPersistence]:
    async with SqlAlchemyPersistence(sqlite_url) as db:
        yield db


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest) -> SqlAlchemyPersistence:
    """The same test on both databases."""
    persistence: SqlAlchemyPersistence = request.getfixturevalue(
        "pg" if request.param == "postgres" else "sqlite"
    )
    return persistence
