"""Fixtures for the SQLAlchemy adapter's integration tests.

PostgreSQL: one database per test session (unique name, migrated once, dropped
at the end), emptied before each test; pools stay small unless a test is
about load. Unreachable PostgreSQL skips the tests locally and fails them
under ``CI=true``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

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


@asynccontextmanager
async def load_sized(pg_url: str, *, most: int, least: int) -> AsyncIterator[SqlAlchemyPersistence]:
    """A persistence whose pool is sized from what the server has free right now.

    The machine's PostgreSQL allows 100 connections in all, shared with the rest of
    the suite (session-scoped pools) and with other test runs: the pool takes what is
    free, leaving 10 spare, up to ``most`` and never below ``least``. Emptied first.
    """
    size = min(most, await _free_connections(pg_url) - 10)
    assert size >= least, f"PostgreSQL has too few free connections for a load test ({size + 10})"
    overflow = min(10, size // 6)
    async with SqlAlchemyPersistence(
        pg_url, pool_size=size - overflow, max_overflow=overflow, pool_timeout=120
    ) as db:
        await truncate_all(db)
        yield db


@pytest.fixture
async def crowd(pg_url: str) -> AsyncIterator[SqlAlchemyPersistence]:
    """A persistence with a load-sized pool: up to 50 + 10 connections, at least 30."""
    async with load_sized(pg_url, most=60, least=30) as db:
        yield db


async def _free_connections(pg_url: str) -> int:
    async with (
        SqlAlchemyPersistence(pg_url, pool_size=1, max_overflow=0) as probe,
        probe.engine.connect() as connection,
    ):
        limit = int(await connection.scalar(text("SHOW max_connections")))
        used = int(await connection.scalar(text("SELECT count(*) FROM pg_stat_activity")))
    return limit - used
