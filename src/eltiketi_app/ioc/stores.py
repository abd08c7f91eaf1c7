"""Building the persistence adapter the settings ask for (imports happen only when chosen)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from eltiketi_app.ioc.types import Persistence
from eltiketi_app.settings import Settings


@asynccontextmanager
async def open_persistence(settings: Settings) -> AsyncIterator[Persistence]:
    if settings.uses_memory_database or settings.database_url is None:
        yield memory_persistence()
        return
    raise NotImplementedError("SQL persistence is not wired yet")


def memory_persistence() -> Persistence:
    """Everything in this process's memory: gone at exit (tests, ``memory://``)."""
    from eltiketi_adapters.memory import InMemoryStorage

    storage = InMemoryStorage()

    async def ping() -> None:
        return None

    return Persistence(
        uow=storage.uow,
        kind="memory",
        ping=ping,
        subscribe_commits=storage.on_commit,
    )
