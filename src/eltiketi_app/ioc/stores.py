"""Building the persistence adapter the settings ask for (imports happen only when chosen).

* ``ELTIKETI_DATABASE_URL=memory://`` — the in-memory stores (gone at exit).
* unset (embedded) — SQLite in the data folder, migrated on start.
* a PostgreSQL URL — the shared database; embedded mode migrates it on start,
  production expects ``eltiketi db upgrade`` to have run and refuses an old schema.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import structlog

from eltiketi_app.ioc.types import Persistence
from eltiketi_app.settings import Settings, SettingsError

if TYPE_CHECKING:
    from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence

SQLITE_FILE = "eltiketi.db"

log = structlog.get_logger("eltiketi.storage")


def database_url(settings: Settings) -> str:
    """The SQLAlchemy URL this process uses (the embedded SQLite file when unset)."""
    if settings.database_url is not None:
        return settings.database_url
    return f"sqlite+aiosqlite:///{(settings.data_dir / SQLITE_FILE).resolve()}"


@asynccontextmanager
async def open_persistence(settings: Settings) -> AsyncIterator[Persistence]:
    if settings.uses_memory_database:
        yield memory_persistence()
        return
    from eltiketi_adapters.sqlalchemy import current_revision, head_revision, upgrade

    url = database_url(settings)
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.is_embedded:
        await upgrade(url)
    else:
        at, head = await current_revision(url), head_revision()
        if at != head:
            raise SettingsError(
                [
                    f"ELTIKETI_DATABASE_URL: the schema is at {at or 'nothing'}, this version "
                    f"needs {head}; run `eltiketi db upgrade` first"
                ]
            )
    async with sqlalchemy_persistence(settings) as db:
        yield Persistence(
            uow=db.uow_factory(),
            kind=db.dialect,
            ping=db.ping,
            subscribe_commits=db.add_commit_listener,
            serialises_writes=db.dialect == "sqlite",
        )


def sqlalchemy_persistence(settings: Settings) -> SqlAlchemyPersistence:
    """The SQL adapter with the operator's pool settings (``ELTIKETI_DATABASE_*``).

    Nothing connects until the first unit of work; the caller closes it.
    """
    from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence

    return SqlAlchemyPersistence(
        database_url(settings),
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout,
        statement_timeout_ms=settings.database_statement_timeout_ms,
    )


def memory_persistence() -> Persistence:
    """Everything in this process's memory: gone at exit (tests, ``memory://``)."""
    from eltiketi_adapters.memory import MemoryStorage, memory_uow_factory

    storage = MemoryStorage()

    async def ping() -> None:
        return None

    return Persistence(
        uow=memory_uow_factory(storage),
        kind="memory",
        ping=ping,
        subscribe_commits=storage.on_commit.append,
        serialises_writes=True,
    )
