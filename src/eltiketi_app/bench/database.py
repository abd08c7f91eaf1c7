"""The run's own PostgreSQL database: created, migrated, checked, dropped.

Every query here is read-only except CREATE/DROP DATABASE; the checks read
the counters the adapter maintains, so they judge the product, not the client.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import asyncpg

from eltiketi_app.bench.stats import Latency, summarize

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


class BenchDatabase:
    """A database of its own on ``server`` (an admin URL whose database exists).

    Args:
        server: URL of the PostgreSQL server to create the database on
            (``postgresql://user@host:port/postgres``).
    """

    def __init__(self, server: str = DEFAULT_SERVER) -> None:
        self._server = server
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
        return version

    async def drop(self) -> None:
        """Drop the database, closing whatever connections are left (PostgreSQL 13+)."""
        admin = await asyncpg.connect(self._server)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await admin.close()

    async def connections_in_use(self) -> tuple[int, int]:
        """(connections open on the whole server, its ``max_connections``)."""
        admin = await asyncpg.connect(self._server)
        try:
            used = await admin.fetchval("SELECT count(*) FROM pg_stat_activity")
            limit = await admin.fetchval("SHOW max_connections")
        finally:
            await admin.close()
        return int(used), int(limit)

    async def stock(self, ticket_type_ids: Sequence[UUID]) -> Stock:
        """Counters of the given types, and how many shards break ``held + sold <= capacity``."""
        connection = await asyncpg.connect(self.url)
        try:
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
        finally:
            await connection.close()
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
        connection = await asyncpg.connect(self.url)
        try:
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
        finally:
            await connection.close()
        delays = [float(r["delay"]) for r in rows]
        return int(orders), len(delays), summarize(delays)


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
