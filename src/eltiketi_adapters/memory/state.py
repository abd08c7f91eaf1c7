"""The shared state behind the in-memory stores, and its transaction lock.

Values are frozen msgspec structs or tuples, so a snapshot is a shallow copy
of each table; rolling back restores the copies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from eltiketi_core.domain.booking import Booking
from eltiketi_core.domain.catalog import Event, StockLevel, TicketType
from eltiketi_core.domain.order import CheckIn, Order, Ticket
from eltiketi_core.domain.payment import Payment, Refund
from eltiketi_core.ports.stores import IdempotencyRecord, NotificationRecord, OutboxEntry

_TABLES = (
    "events",
    "ticket_types",
    "stock",
    "allocations",
    "bookings",
    "payments",
    "orders",
    "tickets",
    "check_ins",
    "refunds",
    "idempotency",
    "outbox",
    "published",
    "inbox",
    "notifications",
)


class MemoryStorage:
    """Everything an in-memory elTiketi knows. Share one between unit-of-work factories
    to share state; make a new one per test for isolation."""

    def __init__(self) -> None:
        self.events: dict[UUID, Event] = {}
        self.ticket_types: dict[UUID, TicketType] = {}
        self.stock: dict[UUID, StockLevel] = {}
        #: (booking, ticket type) → (held, sold) that this booking accounts for.
        self.allocations: dict[tuple[UUID, UUID], tuple[int, int]] = {}
        self.bookings: dict[UUID, Booking] = {}
        self.payments: dict[UUID, Payment] = {}
        self.orders: dict[UUID, Order] = {}
        self.tickets: dict[UUID, Ticket] = {}
        self.check_ins: dict[UUID, CheckIn] = {}
        self.refunds: dict[UUID, Refund] = {}
        self.idempotency: dict[tuple[str, str], IdempotencyRecord] = {}
        self.outbox: dict[int, OutboxEntry] = {}
        self.published: dict[int, datetime] = {}
        self.inbox: dict[tuple[str, str], datetime] = {}
        self.notifications: dict[tuple[str, str], NotificationRecord] = {}
        self.next_seq = 1
        self.lock = asyncio.Lock()
        self.lock_owner: asyncio.Task[Any] | None = None
        self.on_commit: list[Callable[[], None]] = []

    def snapshot(self) -> dict[str, Any]:
        state: dict[str, Any] = {name: dict(getattr(self, name)) for name in _TABLES}
        state["next_seq"] = self.next_seq
        return state

    def restore(self, state: dict[str, Any]) -> None:
        for name in _TABLES:
            setattr(self, name, state[name])
        self.next_seq = state["next_seq"]
