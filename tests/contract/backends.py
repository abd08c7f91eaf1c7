"""The backends the port contract runs on: in-memory, SQLite and PostgreSQL.

* ``memory`` — a fresh :class:`MemoryStorage` per test.
* ``sqlite`` — a file migrated once per session with the adapter's
  ``upgrade``; each test gets its own copy (a file copy is far cheaper than a
  migration), so tests never see each other's rows.
* ``postgres`` — one database per session (unique name, migrated once, dropped
  at the end, via :mod:`tests.integration.sqlalchemy.database`); every table of
  the adapter's metadata is emptied before each test (:func:`empty_postgres`).
  The pool stays small; tests about concurrency open a wider one for
  themselves. Unreachable PostgreSQL skips locally and fails under ``CI=true``.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text

from eltiketi_adapters.memory import MemoryStorage, memory_uow_factory
from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from eltiketi_adapters.sqlalchemy.models import metadata
from eltiketi_core.ports.uow import UnitOfWorkFactory

MEMORY = "memory"
SQLITE = "sqlite"
POSTGRES = "postgres"
SQL_BACKENDS = (SQLITE, POSTGRES)

#: The session pool on PostgreSQL (the brief of the shared server: keep pools small).
PG_POOL_SIZE = 5
PG_MAX_OVERFLOW = 5
#: The pool of a test about concurrency: enough connections for real contention,
#: well under the shared server's ``max_connections``.
PG_WIDE_POOL_SIZE = 20


def memory_factory() -> UnitOfWorkFactory:
    return memory_uow_factory(MemoryStorage())


def copy_sqlite_template(template: Path, folder: Path) -> str:
    """Copy the migrated template (and its WAL, if a checkpoint left one) into ``folder``."""
    target = folder / template.name
    shutil.copyfile(template, target)
    wal = template.with_name(template.name + "-wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + "-wal"))
    return f"sqlite+aiosqlite:///{target}"


@asynccontextmanager
async def wide_postgres(url: str) -> AsyncIterator[UnitOfWorkFactory]:
    """A second, wider pool on the session's database, for one concurrency test."""
    async with SqlAlchemyPersistence(
        url, pool_size=PG_WIDE_POOL_SIZE, max_overflow=0, pool_timeout=60
    ) as db:
        yield db.uow_factory()


async def empty_postgres(db: SqlAlchemyPersistence) -> None:
    """Delete every row of every table in the adapter's metadata, children first.

    Equivalent to ``TRUNCATE … CASCADE`` for isolation, but a test leaves a few
    rows and ``DELETE`` of them takes ~15 ms where ``TRUNCATE`` of the 17 tables
    takes ~300 ms on this server — the difference between a suite of under a
    minute and one of several. Sequences are not restarted: nothing in the
    contract depends on their values, only on their order.
    """
    async with db.engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            await connection.execute(text(f'DELETE FROM "{table.name}"'))


async def without_commit_flush(url: str) -> None:
    """``synchronous_commit = off`` for the session's throw-away database.

    A commit then returns before its WAL record reaches the disk. Visibility,
    locking and isolation are unchanged — only durability across a server crash
    is given up, which a test database never needs — and the suite stops
    queueing on the disk that the other test sessions on this server share.
    """
    db = SqlAlchemyPersistence(url, pool_size=1, max_overflow=0)
    try:
        async with db.engine.connect() as connection:
            name = (await connection.execute(text("SELECT current_database()"))).scalar_one()
            await connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
            await connection.commit()
    finally:
        await db.aclose()
