"""Migrations: every revision up and down on PostgreSQL, and the models match the result."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from eltiketi_adapters.memory import TimeOrderedIds
from eltiketi_adapters.sqlalchemy import (
    SqlAlchemyPersistence,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from eltiketi_adapters.sqlalchemy.engine import create_engine
from eltiketi_adapters.sqlalchemy.migrate import revisions
from eltiketi_adapters.sqlalchemy.models import metadata
from eltiketi_adapters.system import SystemClock
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.organization import MemberRole
from eltiketi_core.errors import NotFound
from eltiketi_core.usecases.access import managed_event
from eltiketi_core.usecases.organizations import personal_organization
from tests.integration.sqlalchemy.database import fresh_postgres_database

pytestmark = pytest.mark.postgres

OLD_EVENT_TEXT_COLUMNS = ("owner", "name", "venue", "timezone", "locale", "currency", "status")


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
        async with asyncio.TaskGroup() as group:
            for _ in range(5):
                group.create_task(upgrade(url))
        assert await current_revision(url) == head_revision()
        assert await _schema_diff(url) == []


@pytest.mark.parametrize("concurrent", [1, 3])
async def test_sqlite_upgrade_and_downgrade(tmp_path: Path, concurrent: int) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    # A task group, not gather: if one upgrade fails the others are cancelled with it, instead
    # of running on inside alembic's process-global context while the next test migrates.
    async with asyncio.TaskGroup() as group:
        for _ in range(concurrent):
            group.create_task(upgrade(url))
    assert await current_revision(url) == head_revision()
    assert await _tables(url) >= {table.name for table in metadata.sorted_tables}
    await downgrade(url, "base")
    assert await _tables(url) == {"alembic_version"}


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
async def test_events_owned_by_subjects_move_into_one_person_organizations(
    tmp_path: Path, dialect: str
) -> None:
    """Revision 0008 on a database with events from before organizations: every subject
    that owns events gets a personal organization it owns, and its events move in."""
    if dialect == "sqlite":
        await _upgrade_an_old_database(f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}")
    else:
        async with fresh_postgres_database("orgs_upgrade", migrate=False) as url:
            await _upgrade_an_old_database(url)


async def _upgrade_an_old_database(url: str) -> None:
    steps = revisions()
    before = steps[steps.index("0008") - 1]
    await upgrade(url, before)
    olga_events, otto_events = [uuid.uuid4(), uuid.uuid4()], [uuid.uuid4()]
    old_events = sa.table(
        "events",
        *(sa.column(name, sa.String()) for name in OLD_EVENT_TEXT_COLUMNS),
        sa.column("id", GUID()),
        sa.column("starts_at", DateTimeUTC(timezone=True)),
        sa.column("created_at", DateTimeUTC(timezone=True)),
    )
    engine = create_engine(url, single_connection=True)
    try:
        async with engine.begin() as connection:
            for owner, ids, day in (("olga", olga_events, 3), ("otto", otto_events, 1)):
                for n, event_id in enumerate(ids):
                    await connection.execute(
                        old_events.insert().values(
                            id=event_id,
                            owner=owner,
                            name=f"{owner} {n}",
                            venue="Hall",
                            timezone="Europe/Berlin",
                            locale="de",
                            currency="EUR",
                            status="published",
                            starts_at=datetime(2031, 1, day + n, 20, tzinfo=UTC),
                            created_at=datetime(2030, 1, day + n, tzinfo=UTC),
                        )
                    )
    finally:
        await engine.dispose()

    await upgrade(url)

    async with SqlAlchemyPersistence(url, pool_size=2) as db, db.unit_of_work() as uow:
        olga_org = await uow.organizations.personal("olga")
        otto_org = await uow.organizations.personal("otto")
        assert olga_org is not None and otto_org is not None
        assert (olga_org.name, olga_org.created_by) == ("olga", "olga")
        assert olga_org.created_at == datetime(2030, 1, 3, tzinfo=UTC)  # its first event
        for organization, owner in ((olga_org, "olga"), (otto_org, "otto")):
            [member] = await uow.organizations.members(organization.id)
            assert (member.subject, member.role) == (owner, MemberRole.OWNER)
        olgas = await uow.catalog.list_events(organizations=[olga_org.id])
        assert sorted(e.id for e in olgas) == sorted(olga_events)
        assert all(e.owner == "olga" for e in olgas)
        [ottos] = await uow.catalog.list_events(organizations=[otto_org.id])
        assert ottos.id == otto_events[0]
        # the access rule now answers by membership
        olga = Principal(subject="olga", roles=frozenset({"organizer"}))
        assert (await managed_event(uow, olga, olga_events[0])).owner == "olga"
        with pytest.raises(NotFound):
            await managed_event(uow, olga, otto_events[0])
        # a new event of olga's without an organization goes to the same one
        assert (await personal_organization(uow, olga, TimeOrderedIds(), SystemClock())).id == (
            olga_org.id
        )

    await downgrade(url, before)
    engine = create_engine(url, single_connection=True)
    try:
        async with engine.connect() as connection:
            owners = (await connection.execute(sa.text("SELECT owner FROM events"))).scalars()
            assert sorted(owners) == ["olga", "olga", "otto"]
    finally:
        await engine.dispose()
    assert "organizations" not in await _tables(url)
