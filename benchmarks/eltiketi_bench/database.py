"""The run's own PostgreSQL database: created, migrated, checked, dropped.

Every query here is read-only except CREATE/DROP DATABASE; the checks read
the counters the adapter maintains, so they judge the product, not the client.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import asyncpg

from eltiketi_bench.stats import Latency, summarize

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


class BenchDatabase:
    """A database of its own on ``server`` (an admin URL whose database exists).

    Args:
        server: URL of the PostgreSQL server to create the database on
            (``postgresql://user@host:port/postgres``).
    """

    def __init__(self, server: str = DEFAULT_SERVER) -> None:
        self._server = server
        self._checks: asyncpg.Connection | None = None
        self.name = f"eltiketi_bench_{os.getpid()}_{secrets.token_hex(3)}"
        parts = urlsplit(server)
        self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
        """``postgresql://…/<name>``: what asyncpg connects to."""
        self.sqlalchemy_url = urlunsplit(
            parts._replace(scheme="postgresql+asyncpg", path=f"/{self.name}")
        )
        """The same, for ``ELTIKETI_DATABASE_URL`` and the SQL adapter."""

    async def create(self) -> str:
        """Create and migrate the database; returns the server's version string."""
        admin = await asyncpg.connect(self._server)
        try:
            await admin.execute(f'CREATE DATABASE "{self.name}"')
            version = str(await admin.fetchval("SHOW server_version"))
        finally:
            await admin.close()
        from eltiketi_adapters.sqlalchemy import upgrade

        await upgrade(self.sqlalchemy_url)
        # One connection for the whole run: checks must not fail on a full server.
        self._checks = await asyncpg.connect(self.url)
        return version

    async def drop(self) -> None:
        """Drop the database, closing whatever connections are left (PostgreSQL 13+)."""
        if self._checks is not None:
            await self._checks.close()
            self._checks = None
        admin = await asyncpg.connect(self._server)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await admin.close()

    async def connections_in_use(self) -> Connections:
        """Connections open on the whole server: all, other databases', and the limit."""
        if self._checks is not None:
            return await _connections(self._checks, self.name)
        admin = await asyncpg.connect(self._server)
        try:
            return await _connections(admin, self.name)
        finally:
            await admin.close()

    async def wait_for_headroom(
        self, needed: int, *, patience: float = 90.0, say: Callable[[str], None] | None = None
    ) -> Connections:
        """Wait (up to ``patience`` seconds) until ``needed`` more connections fit.

        The server is shared with other test suites; starting a pool into a full
        server fails, so the run waits for room instead — and reports what it saw.
        """
        deadline = time.monotonic() + patience
        while True:
            seen = await self.connections_in_use()
            if seen.used + needed + HEADROOM_MARGIN <= seen.limit or time.monotonic() > deadline:
                return seen
            if say is not None:
                say(
                    f"  waiting for PostgreSQL connections: {seen.used} of {seen.limit} in use "
                    f"({seen.others} by other databases), {needed} needed"
                )
            await asyncio.sleep(1.0)

    async def stock(self, ticket_type_ids: Sequence[UUID]) -> Stock:
        """Counters of the given types, and how many shards break ``held + sold <= capacity``."""
        connection = self._connection()
        row = await connection.fetchrow(
            """
            SELECT count(*) FILTER (WHERE held + sold > capacity) AS oversold,
                   coalesce(sum(capacity), 0) AS capacity,
                   coalesce(sum(held), 0) AS held,
                   coalesce(sum(sold), 0) AS sold
            FROM inventory_shards WHERE ticket_type_id = ANY($1::uuid[])
            """,
            list(ticket_type_ids),
        )
        allocated = await connection.fetchval(
            "SELECT coalesce(sum(quantity), 0) FROM booking_allocations"
            " WHERE ticket_type_id = ANY($1::uuid[])",
            list(ticket_type_ids),
        )
        assert row is not None
        return Stock(
            oversold=int(row["oversold"]),
            capacity=int(row["capacity"]),
            held=int(row["held"]),
            sold=int(row["sold"]),
            allocated=int(allocated),
        )

    async def eticket_delays(self, event_id: UUID) -> tuple[int, int, Latency]:
        """For the event's orders: (orders, orders with an e-ticket sent, delay summary).

        The delay is ``notifications.sent_at - orders.created_at`` for the order's
        ``tickets:<order id>`` message: from the confirmation (the use case's clock)
        to the moment the notifier recorded the send.
        """
        connection = self._connection()
        orders = await connection.fetchval(
            "SELECT count(*) FROM orders WHERE event_id = $1", event_id
        )
        rows = await connection.fetch(
            """
            SELECT extract(epoch FROM min(n.sent_at) - o.created_at) AS delay
            FROM orders o JOIN notifications n ON n.key = 'tickets:' || o.id::text
            WHERE o.event_id = $1 AND n.sent_at IS NOT NULL
            GROUP BY o.id, o.created_at
            """,
            event_id,
        )
        delays = [float(r["delay"]) for r in rows]
        return int(orders), len(delays), summarize(delays)

    async def activity(self, application_name: str) -> Activity:
        """Sessions opened on this database so far, and the server pids of the backends
        serving ``application_name`` (to read their CPU time in ``/proc``)."""
        connection = self._connection()
        sessions = await connection.fetchval(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        )
        pids = await connection.fetch(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = $1",
            application_name,
        )
        return Activity(sessions=int(sessions or 0), pids=[int(r["pid"]) for r in pids])

    def _connection(self) -> asyncpg.Connection:
        if self._checks is None:
            raise RuntimeError("the database is not created yet")
        return self._checks


HEADROOM_MARGIN = 5
"""Connections left free for others when waiting for room."""


class Activity(NamedTuple):
    sessions: int
    pids: list[int]


class Connections(NamedTuple):
    used: int
    others: int
    """Open on other databases of the server (other engineers' tests, services)."""
    limit: int


async def _connections(connection: asyncpg.Connection, mine: str) -> Connections:
    row = await connection.fetchrow(
        "SELECT count(*) AS used, count(*) FILTER (WHERE datname IS DISTINCT FROM $1) AS others,"
        " current_setting('max_connections')::int AS limit FROM pg_stat_activity",
        mine,
    )
    assert row is not None
    return Connections(used=int(row["used"]), others=int(row["others"]), limit=int(row["limit"]))


class Stock:
    """Summed counters of some ticket types (see :meth:`BenchDatabase.stock`)."""

    __slots__ = ("allocated", "capacity", "held", "oversold", "sold")

    def __init__(self, *, oversold: int, capacity: int, held: int, sold: int, allocated: int):
        self.oversold = oversold
        self.capacity = capacity
        self.held = held
        self.sold = sold
        self.allocated = allocated

    @property
    def taken(self) -> int:
        return self.held + self.sold

    def as_dict(self) -> dict[str, int]:
        return {
            "capacity": self.capacity,
            "held": self.held,
            "sold": self.sold,
            "allocated": self.allocated,
        }
