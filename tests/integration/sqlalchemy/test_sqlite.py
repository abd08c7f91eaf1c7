"""SQLite, the embedded default: durable file, serialised writers, BEGIN IMMEDIATE."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path

from sqlalchemy import text

from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence, current_revision, head_revision
from eltiketi_adapters.sqlalchemy.engine import create_engine
from eltiketi_core.errors import SoldOut
from eltiketi_core.usecases.booking import Bookings
from eltiketi_core.usecases.core_ports import CorePorts
from eltiketi_core.usecases.policy import Policy
from eltiketi_core.usecases.reservation import ItemRequest, ReserveRequest
from tests.integration.sqlalchemy.database import sqlite_database
from tests.integration.sqlalchemy.support import RandomIds, SteppingClock, buyer, published_event


async def test_state_survives_reopening_the_engine(tmp_path: Path) -> None:
    url = await sqlite_database(tmp_path)
    async with SqlAlchemyPersistence(url) as db:
        event, (ticket_type,) = await published_event(db, 10, shards=2)
        booking = uuid.uuid4()
        async with db.unit_of_work() as uow:
            assert await uow.inventory.reserve(booking, ticket_type.id, 3)
            await uow.commit()
    reopened = SqlAlchemyPersistence(f"sqlite:///{tmp_path / 'eltiketi.sqlite3'}")
    async with reopened, reopened.unit_of_work() as uow:
        assert await uow.catalog.get_event(event.id) == event
        assert await uow.catalog.ticket_types(event.id) == [ticket_type]
        levels = await uow.inventory.levels([ticket_type.id])
        assert (levels[ticket_type.id].held, levels[ticket_type.id].available) == (3, 7)
        await uow.inventory.release(booking, ticket_type.id, 3)  # allocations survived too
        assert (await uow.inventory.levels([ticket_type.id]))[ticket_type.id].held == 0
    assert await current_revision(url) == head_revision()


async def test_connections_use_wal_busy_timeout_and_foreign_keys(
    sqlite: SqlAlchemyPersistence,
) -> None:
    async with sqlite.engine.connect() as connection:
        assert await connection.scalar(text("PRAGMA journal_mode")) == "wal"
        assert await connection.scalar(text("PRAGMA foreign_keys")) == 1
        assert await connection.scalar(text("PRAGMA busy_timeout")) == 30_000


async def test_concurrent_buyers_never_oversell(sqlite: SqlAlchemyPersistence) -> None:
    event, (ticket_type,) = await published_event(sqlite, 30, shards=4)
    bookings = Bookings(CorePorts(sqlite.uow_factory(), SteppingClock(), RandomIds()), Policy())
    request = ReserveRequest(
        event_id=event.id, items=(ItemRequest(ticket_type_id=ticket_type.id, quantity=1),)
    )
    outcomes = await asyncio.gather(
        *(bookings.reserve(buyer(n), request) for n in range(120)), return_exceptions=True
    )
    assert [
        o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, SoldOut)
    ] == []
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 30
    async with sqlite.unit_of_work() as uow:
        assert (await uow.inventory.levels([ticket_type.id]))[ticket_type.id].held == 30


async def test_two_engines_on_one_file_take_turns(tmp_path: Path) -> None:
    """Two processes' worth of engines (no shared in-process gate): SQLite's write lock and
    busy_timeout serialise them; nothing is lost."""
    url = await sqlite_database(tmp_path)
    async with SqlAlchemyPersistence(url) as first, SqlAlchemyPersistence(url) as second:
        _, (ticket_type,) = await published_event(first, 40)

        async def take(db: SqlAlchemyPersistence) -> bool:
            async with db.unit_of_work() as uow:
                ok = await uow.inventory.reserve(uuid.uuid4(), ticket_type.id, 1)
                await uow.commit()
                return ok

        results = await asyncio.gather(*(take(first if n % 2 else second) for n in range(60)))
        assert sum(results) == 40
        async with second.unit_of_work() as uow:
            assert (await uow.inventory.levels([ticket_type.id]))[ticket_type.id].held == 40


async def test_a_connection_waits_to_switch_a_locked_file_to_wal(tmp_path: Path) -> None:
    """Switching a file to WAL while another connection writes in the old journal mode (a
    replica starting on the same new file, a migration of an older version) is refused by
    SQLite at once, without the busy wait: the engine retries until the writer is done."""
    path = tmp_path / "locked.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("CREATE TABLE t (n INTEGER)")
    asyncio.get_running_loop().call_later(0.5, writer.execute, "COMMIT")
    engine = create_engine(f"sqlite+aiosqlite:///{path}", single_connection=True)
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("PRAGMA journal_mode")) == "wal"
            assert await connection.scalar(text("SELECT count(*) FROM t")) == 0
    finally:
        await engine.dispose()
        writer.close()
