"""Fixtures of the port contract suite: every test runs once per backend.

``uow_factory`` is the :data:`~eltiketi_core.ports.UnitOfWorkFactory` under
test; ``backend`` says which one it is (``memory``, ``sqlite``, ``postgres``);
``wide_uow_factory`` is the same storage with room for many concurrent units
of work (a bigger pool on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from eltiketi_core.ports.uow import UnitOfWorkFactory
from tests.contract.backends import (
    MEMORY,
    PG_MAX_OVERFLOW,
    PG_POOL_SIZE,
    POSTGRES,
    SQLITE,
    copy_sqlite_template,
    empty_postgres,
    memory_factory,
    wide_postgres,
    without_commit_flush,
)
from tests.integration.sqlalchemy.database import fresh_postgres_database, sqlite_database

if TYPE_CHECKING:
    from tests.contract.builders import World


@pytest.fixture(scope="session")
async def contract_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("contract-sqlite-template")
    await sqlite_database(folder, "contract.sqlite3")
    return folder / "contract.sqlite3"


@pytest.fixture(scope="session")
async def contract_pg_url() -> AsyncIterator[str]:
    async with fresh_postgres_database("contract") as url:
        await without_commit_flush(url)
        yield url


@pytest.fixture(scope="session")
async def contract_pg(contract_pg_url: str) -> AsyncIterator[SqlAlchemyPersistence]:
    async with SqlAlchemyPersistence(
        contract_pg_url, pool_size=PG_POOL_SIZE, max_overflow=PG_MAX_OVERFLOW
    ) as db:
        yield db


@pytest.fixture(params=[MEMORY, SQLITE, pytest.param(POSTGRES, marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
async def sqlite_uow_factory(
    contract_sqlite_template: Path, tmp_path: Path
) -> AsyncIterator[UnitOfWorkFactory]:
    """A private copy of the migrated SQLite template."""
    async with SqlAlchemyPersistence(
        copy_sqlite_template(contract_sqlite_template, tmp_path)
    ) as db:
        yield db.uow_factory()


@pytest.fixture
async def postgres_uow_factory(contract_pg: SqlAlchemyPersistence) -> UnitOfWorkFactory:
    """The session's PostgreSQL database, every table emptied."""
    await empty_postgres(contract_pg)
    return contract_pg.uow_factory()


@pytest.fixture
async def postgres_wide_uow_factory(
    contract_pg_url: str, postgres_uow_factory: UnitOfWorkFactory
) -> AsyncIterator[UnitOfWorkFactory]:
    async with wide_postgres(contract_pg_url) as factory:
        yield factory


@pytest.fixture
def uow_factory(backend: str, request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    """The unit of work factory under test (synchronous, so it can pick an async fixture)."""
    if backend == MEMORY:
        return memory_factory()
    factory: UnitOfWorkFactory = request.getfixturevalue(f"{backend}_uow_factory")
    return factory


@pytest.fixture
def wide_uow_factory(
    backend: str, uow_factory: UnitOfWorkFactory, request: pytest.FixtureRequest
) -> UnitOfWorkFactory:
    """``uow_factory`` for tests that run many units of work at once (a wider pool on
    PostgreSQL; the same storage everywhere)."""
    if backend != POSTGRES:
        return uow_factory
    factory: UnitOfWorkFactory = request.getfixturevalue("postgres_wide_uow_factory")
    return factory


@pytest.fixture
def world(uow_factory: UnitOfWorkFactory) -> World:
    """Parent rows written through the ports (``tests.contract.builders``)."""
    from tests.contract.builders import World

    return World(uow_factory)
