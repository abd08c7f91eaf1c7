"""The adapter's entry point: one engine, and the units of work that use it."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from eltiketi_adapters.closing import ClosedOnExit
from eltiketi_adapters.sqlalchemy import migrate
from eltiketi_adapters.sqlalchemy.engine import (
    SQLITE,
    PoolOptions,
    create_engine,
    dialect_of,
    normalize_url,
)
from eltiketi_adapters.sqlalchemy.errors import is_database_error, translate
from eltiketi_adapters.sqlalchemy.uow import CommitListener, SqlAlchemyUnitOfWork, UnitOfWorkContext
from eltiketi_core.ports.uow import UnitOfWorkFactory


class SqlAlchemyPersistence(ClosedOnExit):
    """Owns the engine (connection pool) and makes units of work; tie it to the app lifespan.

    Example::

        async with SqlAlchemyPersistence("postgresql+asyncpg://…", pool_size=20) as db:
            await db.upgrade()                    # or `eltiketi db upgrade` beforehand
            db.add_commit_listener(relay.wake)    # the in-process relay
            bookings = Bookings(CorePorts(db.uow_factory(), clock, ids), policy)

    Args:
        url: SQLAlchemy URL. ``postgresql://`` (any driver name) becomes
            ``postgresql+asyncpg://``; ``sqlite:///path`` becomes
            ``sqlite+aiosqlite:///path``.
        pool_size: connections kept open (PostgreSQL; SQLite caps it at 5).
        max_overflow: extra connections under load (PostgreSQL), closed again when
            returned; ``0`` (the default) avoids that churn.
        pool_timeout: seconds to wait for a free connection before failing with
            ``GatewayUnavailable``.
        statement_timeout_ms: PostgreSQL ``statement_timeout`` for every connection.
        sqlite_busy_timeout_ms: how long SQLite waits for another process's write
            lock (and this process waits for its own write gate).
        on_commit: called after every commit that wrote outbox events.
        echo: log every SQL statement.
    """

    def __init__(
        self,
        url: str | URL,
        *,
        pool_size: int = 15,
        max_overflow: int = 0,
        pool_timeout: float = 30.0,
        statement_timeout_ms: int | None = None,
        sqlite_busy_timeout_ms: int = 30_000,
        on_commit: CommitListener | None = None,
        echo: bool = False,
    ) -> None:
        self._url = normalize_url(url)
        self._dialect = dialect_of(self._url)
        self._engine = create_engine(
            self._url,
            pool=PoolOptions(
                pool_size=pool_size,
                max_overflow=max_overflow,
                pool_timeout=pool_timeout,
                statement_timeout_ms=statement_timeout_ms,
            ),
            sqlite_busy_timeout_ms=sqlite_busy_timeout_ms,
            echo=echo,
        )
        sqlite = self._dialect == SQLITE
        self._context = UnitOfWorkContext(
            self._engine,
            self._dialect,
            write_gate=asyncio.Lock() if sqlite else None,
            gate_timeout=sqlite_busy_timeout_ms / 1000,
        )
        if on_commit is not None:
            self.add_commit_listener(on_commit)
        self._closed = False

    @property
    def url(self) -> URL:
        return self._url

    @property
    def dialect(self) -> str:
        """``"postgresql"`` or ``"sqlite"``."""
        return self._dialect

    @property
    def engine(self) -> AsyncEngine:
        """The engine, for adapter-level tools (pruning, tests). The core never sees it."""
        return self._engine

    def unit_of_work(self) -> SqlAlchemyUnitOfWork:
        """A new, unopened unit of work (``async with`` it)."""
        return SqlAlchemyUnitOfWork(self._context)

    def uow_factory(self) -> UnitOfWorkFactory:
        """The :data:`~eltiketi_core.ports.UnitOfWorkFactory` the use cases take."""
        return self.unit_of_work

    def add_commit_listener(self, listener: CommitListener) -> None:
        """Call ``listener()`` after each commit that wrote events to the outbox.

        It runs in the committing task, so it must be quick and must not raise
        (errors are logged and swallowed): set an ``asyncio.Event``, no I/O.
        """
        self._context.commit_listeners.append(listener)

    async def upgrade(self, revision: str = "head") -> None:
        """Migrate this database (see :func:`eltiketi_adapters.sqlalchemy.upgrade`)."""
        await migrate.upgrade(self._url, revision)

    async def ping(self) -> None:
        """Raise ``GatewayUnavailable`` unless the database answers (readiness probe)."""
        try:
            async with self._engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:
            if is_database_error(error):
                raise translate(error) from error
            raise

    async def aclose(self) -> None:
        """Close every pooled connection. Idempotent."""
        if not self._closed:
            self._closed = True
            await self._engine.dispose()
