"""The in-memory unit of work: serialisable transactions with real rollback."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, Self

from eltiketi_adapters.memory.state import MemoryStorage
from eltiketi_adapters.memory.stores import (
    MemoryBookingStore,
    MemoryCatalogStore,
    MemoryIdempotencyStore,
    MemoryInboxStore,
    MemoryInventoryStore,
    MemoryNotificationStore,
    MemoryOrderStore,
    MemoryOutboxStore,
    MemoryPaymentStore,
    MemoryRefundStore,
    MemoryTicketStore,
)
from eltiketi_core.domain.events import DomainEvent
from eltiketi_core.ports.uow import UnitOfWorkFactory


class NestedUnitOfWorkError(RuntimeError):
    """A task opened a unit of work while already inside one: it would wait on itself."""


class MemoryUnitOfWork:
    """One transaction over :class:`MemoryStorage`.

    Transactions run one at a time (an ``asyncio.Lock`` held from ``__aenter__``
    to ``__aexit__``), which makes them serialisable; leaving without
    :meth:`commit` restores the snapshot taken at the start, outbox included.
    """

    def __init__(self, storage: MemoryStorage) -> None:
        self._storage = storage
        self._pending: list[DomainEvent] = []
        self._snapshot: dict[str, Any] | None = None
        self._committed = False
        self.catalog = MemoryCatalogStore(storage)
        self.inventory = MemoryInventoryStore(storage)
        self.bookings = MemoryBookingStore(storage)
        self.payments = MemoryPaymentStore(storage)
        self.orders = MemoryOrderStore(storage)
        self.tickets = MemoryTicketStore(storage)
        self.refunds = MemoryRefundStore(storage)
        self.idempotency = MemoryIdempotencyStore(storage)
        self.outbox = MemoryOutboxStore(storage)
        self.inbox = MemoryInboxStore(storage)
        self.notifications = MemoryNotificationStore(storage)

    async def __aenter__(self) -> Self:
        task = asyncio.current_task()
        if task is not None and self._storage.lock_owner is task:
            raise NestedUnitOfWorkError("a unit of work is already open in this task")
        await self._storage.lock.acquire()
        self._storage.lock_owner = task
        self._snapshot = self._storage.snapshot()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._committed and self._snapshot is not None:
                self._storage.restore(self._snapshot)
        finally:
            self._snapshot = None
            self._storage.lock_owner = None
            self._storage.lock.release()
        if self._committed:
            for callback in list(self._storage.on_commit):
                callback()

    def record(self, *events: DomainEvent) -> None:
        self._pending.extend(events)

    async def commit(self) -> None:
        if self._snapshot is None:
            raise RuntimeError("commit outside of 'async with'")
        await self.outbox.add(self._pending)
        self._pending.clear()
        self._committed = True
        self._snapshot = self._storage.snapshot()  # later writes in this block roll back


def memory_uow_factory(storage: MemoryStorage) -> UnitOfWorkFactory:
    """A zero-argument factory of units of work over ``storage``."""

    def make() -> MemoryUnitOfWork:
        return MemoryUnitOfWork(storage)

    return make
