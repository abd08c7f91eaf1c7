"""Which stores back the unit of work: in-memory, SQLite in the data folder, or PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

from dishka import Provider, Scope, provide

from eltiketi_app.ioc.types import Persistence
from eltiketi_app.settings import Settings


class PersistenceProvider(Provider):
    """APP scope: one store set (engine, pool) per process, closed at shutdown."""

    scope = Scope.APP

    @provide
    async def persistence(self, settings: Settings) -> AsyncIterator[Persistence]:
        from eltiketi_app.ioc import stores

        async with stores.open_persistence(settings) as persistence:
            yield persistence
