"""The relay lease: of several relay processes, only one publishes at a time.

Why: the outbox is read in ``seq`` order and published in that order; two relays
publishing the same rows concurrently could interleave them on a partition.
Duplicates are harmless (consumers are idempotent) but order matters.

How: a PostgreSQL **session-level** advisory lock, ``pg_try_advisory_lock(key)``,
taken on a dedicated connection that the holder keeps open (autocommit, so it
is never "idle in transaction"). PostgreSQL releases the lock when that session
ends — the process exits, crashes, or its connection breaks — so a standby
relay, retrying ``pg_try_advisory_lock`` every couple of seconds, takes over.
Before every batch the holder re-checks, on the same connection, that
``pg_locks`` still lists the lock as its own; if the check fails (connection
lost, server restarted) it stops publishing and competes for the lease again.

Limits (documented in ``docs/operations.md``): a holder cut off by a network
partition keeps publishing the batch in hand until its next check, and
PostgreSQL only notices a silently dead client after TCP keepalive gives up,
so during a hand-over a batch may be published twice (absorbed by the inbox).

Without a shared bus (the embedded server's in-process handlers) or without
PostgreSQL (SQLite has no advisory locks) the relay runs under :class:`LocalLease`,
which is always held: run one relay per outbox then.
"""

from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

log = logging.getLogger("eltiketi.background.lease")

#: The advisory lock key of the relay lease (``b"elt-rlay"`` as a big-endian bigint).
RELAY_LEASE_KEY = int.from_bytes(b"elt-rlay", "big")


class Lease(Protocol):
    """Something only one process holds at a time."""

    @property
    def held(self) -> bool: ...

    async def acquire(self) -> bool:
        """Try once, without waiting; True if this process holds the lease now."""
        ...

    async def still_held(self) -> bool:
        """Check (against the database) that the lease is still ours."""
        ...

    async def release(self) -> None: ...


class PostgresAdvisoryLease:
    """:class:`Lease` on a session-level ``pg_try_advisory_lock``.

    Args:
        url: SQLAlchemy URL of the PostgreSQL database (``postgresql+asyncpg://…``).
        key: the advisory lock key; every relay of one deployment uses the same.
    """

    def __init__(self, url: str, key: int = RELAY_LEASE_KEY) -> None:
        self._url = asyncpg_url(url)
        self._key = key
        self._engine: AsyncEngine | None = None
        self._connection: AsyncConnection | None = None
        self._held = False

    @property
    def held(self) -> bool:
        return self._held

    async def acquire(self) -> bool:
        if self._held:
            return await self.still_held()
        try:
            connection = await self._connect()
            result = await connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
            )
            self._held = bool(result.scalar_one())
        except Exception as error:
            log.warning("relay lease: database unavailable", extra={"error": repr(error)})
            await self._disconnect()
            return False
        if self._held:
            log.info("relay lease acquired: this process publishes the outbox")
        return self._held

    async def still_held(self) -> bool:
        if not self._held or self._connection is None:
            self._held = False
            return False
        try:
            result = await self._connection.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                    "AND pid = pg_backend_pid() AND granted AND objsubid = 1 "
                    "AND classid = :high AND objid = :low)"
                ),
                {"high": self._key >> 32, "low": self._key & 0xFFFFFFFF},
            )
            self._held = bool(result.scalar_one())
        except Exception as error:
            log.warning("relay lease lost with its connection", extra={"error": repr(error)})
            self._held = False
            await self._disconnect()
        return self._held

    async def release(self) -> None:
        if self._held and self._connection is not None:
            try:
                await self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": self._key}
                )
            except Exception:  # closing the session below releases it anyway
                log.debug("advisory unlock failed", exc_info=True)
            log.info("relay lease released")
        self._held = False
        await self._disconnect()

    async def _connect(self) -> AsyncConnection:
        if self._connection is None:
            self._engine = create_async_engine(self._url, poolclass=NullPool)
            connection = await self._engine.connect()
            self._connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        return self._connection

    async def _disconnect(self) -> None:
        connection, engine = self._connection, self._engine
        self._connection = self._engine = None
        if connection is not None:
            try:
                await connection.close()
            except Exception:
                log.debug("closing the lease connection failed", exc_info=True)
        if engine is not None:
            await engine.dispose()


def asyncpg_url(url: str) -> URL:
    """``postgresql://`` (any driver) as ``postgresql+asyncpg://``."""
    parsed = make_url(url)
    if parsed.get_backend_name() in {"postgresql", "postgres"}:
        return parsed.set(drivername="postgresql+asyncpg")
    return parsed


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() in {"postgresql", "postgres"}


class LocalLease:
    """:class:`Lease` that is always held: for the embedded server, whose relay feeds
    only its own handlers, and for a database without advisory locks (SQLite), where
    the worker's start-up log asks for a single relay."""

    def __init__(self) -> None:
        self._held = False

    @property
    def held(self) -> bool:
        return self._held

    async def acquire(self) -> bool:
        self._held = True
        return True

    async def still_held(self) -> bool:
        return self._held

    async def release(self) -> None:
        self._held = False


def shared_bus_lease(url: str) -> Lease:
    """The lease of relays that publish to a bus shared by processes (Kafka), over the
    database at ``url``: the advisory lock on PostgreSQL; elsewhere always held, with a
    warning to run exactly one relay."""
    if is_postgres(url):
        return PostgresAdvisoryLease(url)
    log.warning(
        "relay lease: the database is not PostgreSQL; run exactly one relay process",
        extra={"database": make_url(url).get_backend_name()},
    )
    return LocalLease()
