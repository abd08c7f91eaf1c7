"""The unit of work: one transaction per use case, with the outbox inside it."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self

from eltiketi_core.domain.events import DomainEvent
from eltiketi_core.ports.stores import (
    BookingStore,
    CatalogStore,
    IdempotencyStore,
    InboxStore,
    InventoryStore,
    NotificationStore,
    OrderStore,
    OutboxStore,
    PaymentStore,
    RefundStore,
    TicketStore,
)


class UnitOfWork(Protocol):
    """``async with uow:`` opens a transaction; leaving without :meth:`commit` rolls back.

    Events given to :meth:`record` are written to the outbox by :meth:`commit`,
    in the same transaction as the state change they describe.
    """

    @property
    def catalog(self) -> CatalogStore: ...

    @property
    def inventory(self) -> InventoryStore: ...

    @property
    def bookings(self) -> BookingStore: ...

    @property
    def payments(self) -> PaymentStore: ...

    @property
    def orders(self) -> OrderStore: ...

    @property
    def tickets(self) -> TicketStore: ...

    @property
    def refunds(self) -> RefundStore: ...

    @property
    def idempotency(self) -> IdempotencyStore: ...

    @property
    def outbox(self) -> OutboxStore: ...

    @property
    def inbox(self) -> InboxStore: ...

    @property
    def notifications(self) -> NotificationStore: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def record(self, *events: DomainEvent) -> None: ...

    async def commit(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
