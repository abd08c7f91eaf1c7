"""Building async engines for PostgreSQL (asyncpg) and SQLite (aiosqlite).

SQLite needs three things to behave like a database server under concurrent
use, all set up here:

* ``journal_mode=WAL`` (readers do not block the writer), ``busy_timeout``
  (another process holding the write lock makes us wait, not fail) and
  ``foreign_keys=ON``, on every new connection; the switch to WAL is retried
  for as long as the busy timeout, as SQLite refuses it at once while another
  connection writes;
* the driver's own transaction handling switched off (``isolation_level =
  None``) and ``BEGIN IMMEDIATE`` emitted by SQLAlchemy's ``begin`` event, so a
  transaction takes the write lock when it starts. A deferred ``BEGIN`` that
  reads and later writes can fail with "database is locked" at the write,
  which ``busy_timeout`` does not retry. This is the recipe of SQLAlchemy's
  SQLite documentation ("Enabling Non-Legacy SQLite Transactional Modes").
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.util import await_only

from eltiketi_core.errors import ValidationFailed

POSTGRES = "postgresql"
SQLITE = "sqlite"


@dataclass(frozen=True, slots=True)
class PoolOptions:
    """Connection pool sizing (PostgreSQL; SQLite uses a small fixed pool).

    Every replica opens up to ``pool_size + max_overflow`` connections: keep the
    sum over all replicas and workers below the server's ``max_connections``.
    Overflow connections are closed when they are returned, so a busy process with
    overflow opens and closes PostgreSQL sessions all the time; the default spends
    the whole budget on the pool itself (15 + 0 rather than 10 + 5).

    There is no pre-ping (it would cost a round trip and ~0.2 ms of CPU per unit of
    work). A connection the server dropped fails the statement that meets it;
    SQLAlchemy then recognises the disconnect and invalidates that connection and
    every other pooled connection opened before it, so only work already in flight
    fails (``GatewayUnavailable``, HTTP 503) and the next checkouts reconnect.
    ``pool_recycle`` closes connections older than that many seconds before use,
    ahead of idle timeouts in firewalls or proxies.
    """

    pool_size: int = 15
    max_overflow: int = 0
    pool_timeout: float = 30.0
    pool_recycle: float = 1800.0
    statement_timeout_ms: int | None = None


def normalize_url(url: str | URL) -> URL:
    """Accept plain ``postgresql://`` / ``sqlite:///`` URLs and pick the async driver.

    Raises:
        ValidationFailed: for a database other than PostgreSQL or SQLite.
    """
    parsed = make_url(url) if isinstance(url, str) else url
    backend = parsed.get_backend_name()
    if backend in {"postgresql", "postgres"}:
        # The URL's parts are the same for every PostgreSQL driver; ours is asyncpg.
        return parsed.set(drivername="postgresql+asyncpg")
    if backend == SQLITE:
        return parsed.set(drivername="sqlite+aiosqlite")
    raise ValidationFailed(
        "unsupported_database_url", f"elTiketi supports PostgreSQL and SQLite, not {backend!r}"
    )


def dialect_of(url: URL) -> str:
    return POSTGRES if url.get_backend_name() in {"postgresql", "postgres"} else SQLITE


def create_engine(
    url: str | URL,
    *,
    pool: PoolOptions | None = None,
    sqlite_busy_timeout_ms: int = 30_000,
    sqlite_foreign_keys: bool = True,
    single_connection: bool = False,
    echo: bool = False,
) -> AsyncEngine:
    """An async engine with elTiketi's connection settings.

    ``single_connection`` gives a pool-less engine (one connection per use),
    for migrations and one-shot maintenance commands.
    """
    parsed = normalize_url(url)
    pool = pool or PoolOptions()
    kwargs: dict[str, Any] = {
        "echo": echo,
        # msgspec for JSON columns (the outbox payload): stdlib json costs ~4 % of a hold's CPU.
        "json_serializer": json_text,
        "json_deserializer": msgspec.json.decode,
    }
    if dialect_of(parsed) == POSTGRES:
        server_settings = {"application_name": "eltiketi"}
        if pool.statement_timeout_ms is not None:
            server_settings["statement_timeout"] = str(pool.statement_timeout_ms)
        kwargs["connect_args"] = {"server_settings": server_settings}
        if single_connection:
            kwargs["poolclass"] = NullPool
        else:
            kwargs.update(
                pool_size=pool.pool_size,
                max_overflow=pool.max_overflow,
                pool_timeout=pool.pool_timeout,
                pool_recycle=pool.pool_recycle,
            )
        return create_async_engine(parsed, **kwargs)
    if single_connection and not _is_memory(parsed):
        kwargs["poolclass"] = NullPool
    elif not _is_memory(parsed):  # ":memory:" keeps SQLAlchemy's single shared connection
        # One writer at a time anyway; a few connections let readers proceed.
        kwargs.update(
            pool_size=min(pool.pool_size, 5), max_overflow=0, pool_timeout=pool.pool_timeout
        )
    # The driver's own wait for a lock, used while connecting (before the pragmas run).
    kwargs["connect_args"] = {"timeout": sqlite_busy_timeout_ms / 1000}
    engine = create_async_engine(parsed, **kwargs)
    install_sqlite_transactions(
        engine, busy_timeout_ms=sqlite_busy_timeout_ms, foreign_keys=sqlite_foreign_keys
    )
    return engine


def json_text(value: Any) -> str:
    """JSON as the engine writes it (and as the asyncpg connection's codec takes it)."""
    return msgspec.json.encode(value).decode()


def install_sqlite_transactions(
    engine: AsyncEngine, *, busy_timeout_ms: int, foreign_keys: bool
) -> None:
    """Pragmas on connect and ``BEGIN IMMEDIATE`` on begin (see the module docstring)."""
    memory = _is_memory(engine.url)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN, not the driver
        cursor = dbapi_connection.cursor()
        try:
            # The busy timeout first: switching a new file to WAL needs the write lock,
            # and another connection (a migration on another replica) may hold it.
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            if not memory:
                _switch_to_wal(cursor, busy_timeout_ms / 1000)
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _switch_to_wal(cursor: Any, timeout_s: float) -> None:
    """``PRAGMA journal_mode=WAL``, retried while another connection holds the file's lock.

    SQLite refuses the switch at once ("database is locked") when a connection writes in
    the old journal mode, e.g. two replicas starting on a new file: the busy timeout does
    not apply to it. The wait yields to the event loop (we run inside SQLAlchemy's
    greenlet), so other connections keep working meanwhile.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
        await_only(asyncio.sleep(_WAL_RETRY_S))


_WAL_RETRY_S = 0.02


def _is_memory(url: URL) -> bool:
    return url.get_backend_name() == SQLITE and (url.database in {None, "", ":memory:"})
