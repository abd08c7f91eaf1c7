"""Migrations: every revision up and down on PostgreSQL, and the models match the result."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from eltiketi_adapters.sqlalchemy import current_revision, downgrade, head_revision, upgrade
from eltiketi_adapters.sqlalchemy.engine import create_engine
from eltiketi_adapters.sqlalchemy.migrate import revisions
from eltiketi_adapters.sqlalchemy.models import metadata
from tests.integration.sqlalchemy.database import fresh_postgres_database

pytestmark = pytest.mark.postgres


async def _tables(url: str) -> set[str]:
    engine = create_engine(url, single_connection=True)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def _schema_diff(url: str) -> list[object]:
    engine = create_engine(url, single_connection=True)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(
                        sync, opts={"compare_type": True, "compare_server_default": True}
                    ),
                    metadata,
                )
            )
    finally:
        await engine.dispose()


async def test_stairway_every_revision_up_down_up() -> None:
    """Each step: upgrade to it, downgrade one step, upgrade again (catches broken downgrades)."""
    steps = revisions()
    assert len(steps) >= 2
    assert steps[-1] == head_revision()
    async with fresh_postgres_database("stairway", migrate=False) as url:
        previous = "base"
        for revision in steps:
            await upgrade(url, revision)
            assert await current_revision(url) == revision
            await downgrade(url, previous)
            assert await current_revision(url) == (None if previous == "base" else previous)
            await upgrade(url, revision)
            previous = revision
        assert await _schema_diff(url) == []
        await downgrade(url, "base")
        assert await _tables(url) == {"alembic_version"}


async def test_models_match_the_migrated_schema(pg_url: str) -> None:
    assert await current_revision(pg_url) == head_revision()
    assert await _schema_diff(pg_url) == []
    assert await _tables(pg_url) >= {table.name for table in metadata.sorted_tables}


async def test_replicas_starting_together_migrate_once() -> None:
    """Five concurrent `upgrade` calls: the advisory lock lets one migrate, the others no-op."""
    async with fresh_postgres_database("replicas", migrate=False) as url:
        await asyncio.gather(*(upgrade(url) for _ in range(5)))
        assert await current_revision(url) == head_revision()
        assert await _schema_diff(url) == []


@pytest.mark.parametrize("concurrent", [1, 3])
async def test_sqlite_upgrade_and_downgrade(tmp_path: Path, concurrent: int) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    await asyncio.gather(*(upgrade(url) for _ in range(concurrent)))
    assert await current_revision(url) == head_revision()
    assert await _tables(url) >= {table.name for table in metadata.sorted_tables}
    await downgrade(url, "base")
    assert await _tables(url) == {"alembic_version"}
