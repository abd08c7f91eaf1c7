"""The in-memory unit of work: serialisable transactions with real rollback."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

from eltiketi_adapters.memory.organizations import MemoryInvitationStore, MemoryOrganizationStore
from eltiketi_adapters.memory.state import CommitListener, MemoryStorage
from eltiketi_adapters.memory.stores import (
    MemoryBookingStore,
    MemoryCatalogStore,
    MemoryIdempotencyStore,
    MemoryInboxStore,
    MemoryInventoryStore,
    MemoryJobStore,
    MemoryNotificationStore,
    MemoryOrderStore,
    MemoryOutboxStore,
    MemoryPaymentStore,
    MemoryRefundStore,
    MemoryTicketStore,
    TransactionState,
)
from eltiketi_core.domain.events import DomainEvent
from eltiketi_core.ports.uow import UnitOfWorkFactory


class NestedUnitOfWorkError(RuntimeError):
    """A task opened a unit of work while already inside one: it would wait on itself."""


class MemoryUnitOfWork:
    """One transaction over a :class:`MemoryStorage`
    (implements :class:`~eltiketi_core.ports.UnitOfWork`).

    Transactions run one at a time: an ``asyncio.Lock`` is held from
    ``__aenter__`` to ``__aexit__``, which makes them serialisable, the
    strongest isolation a database offers. Every write is journaled; leaving
    the ``async with`` without :meth:`commit` undoes everything written since
    the last commit, outbox entries included. After a commit the block may go
    on; a later commit keeps the later writes, leaving without one undoes them
    (as a SQL unit of work that begins a new transaction after committing).

    Opening a second unit of work inside the first, in the same task, raises
    :class:`NestedUnitOfWorkError` instead of waiting forever for itself.
    """

    def __init__(self, storage: MemoryStorage) -> None:
        self._storage = storage
        self._pending: list[DomainEvent] = []
        self._wrote_events = False
        self._tx = TransactionState()
        self._entered = False
        self.catalog = MemoryCatalogStore(storage, self._tx)
        self.inventory = MemoryInventoryStore(storage, self._tx)
        self.bookings = MemoryBookingStore(storage, self._tx)
        self.payments = MemoryPaymentStore(storage, self._tx)
        self.orders = MemoryOrderStore(storage, self._tx)
        self.tickets = MemoryTicketStore(storage, self._tx)
        self.refunds = MemoryRefundStore(storage, self._tx)
        self.idempotency = MemoryIdempotencyStore(storage, self._tx)
        self.outbox = MemoryOutboxStore(storage, self._tx)
        self.inbox = MemoryInboxStore(storage, self._tx)
        self.notifications = MemoryNotificationStore(storage, self._tx)
        self.jobs = MemoryJobStore(storage, self._tx)
        self.organizations = MemoryOrganizationStore(storage, self._tx)
        self.invitations = MemoryInvitationStore(storage, self._tx)

    async def __aenter__(self) -> Self:
        if self._entered:
            raise RuntimeError("this unit of work is already open; create one per use case")
        storage = self._storage
        task = asyncio.current_task()
        if task is not None and storage.lock_owner is task:
            raise NestedUnitOfWorkError(
                "a unit of work is already open in this task; finish it before opening another"
            )
        await storage.lock.acquire()
        self._entered = True
        storage.lock_owner = task
        storage.journal.begin()
        self._tx.open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        storage = self._storage
        try:
            storage.journal.undo()  # whatever was not committed
        finally:
            self._tx.open = False
            self._pending.clear()
            self._wrote_events = False
            self._entered = False
            storage.journal.end()
            storage.lock_owner = None
            storage.lock.release()

    def record(self, *events: DomainEvent) -> None:
        """Collect events; :meth:`commit` writes them to the outbox with the changes."""
        self._pending.extend(events)

    async def flush(self) -> None:
        if not self._tx.open:
            raise RuntimeError("flush outside of `async with uow:`")
        events, self._pending = self._pending, []
        if events:
            await self.outbox.add(events)
            self._wrote_events = True

    async def commit(self) -> None:
        if not self._tx.open:
            raise RuntimeError("commit outside of `async with uow:`")
        await self.flush()
        self._storage.journal.keep()
        if self._wrote_events:
            self._wrote_events = False
            self._storage.committed_events()


def memory_uow_factory(
    storage: MemoryStorage, *, on_commit: CommitListener | None = None
) -> UnitOfWorkFactory:
    """The zero-argument :data:`~eltiketi_core.ports.UnitOfWorkFactory` over ``storage``.

    Args:
        storage: the state the units of work share.
        on_commit: added to the storage's commit listeners (see
            :meth:`MemoryStorage.add_commit_listener`).
    """
    if on_commit is not None:
        storage.add_commit_listener(on_commit)

    def make() -> MemoryUnitOfWork:
        return MemoryUnitOfWork(storage)

    return make
