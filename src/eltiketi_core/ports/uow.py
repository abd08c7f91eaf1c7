"""The unit of work: one transaction per use case, with the outbox inside it."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self

from eltiketi_core.domain.events import DomainEvent
from eltiketi_core.ports.organizations import InvitationStore, OrganizationStore
from eltiketi_core.ports.stores import (
    BookingStore,
    CatalogStore,
    IdempotencyStore,
    InboxStore,
    InventoryStore,
    JobStore,
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

    @property
    def jobs(self) -> JobStore: ...

    @property
    def organizations(self) -> OrganizationStore: ...

    @property
    def invitations(self) -> InvitationStore: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def record(self, *events: DomainEvent) -> None: ...

    async def flush(self) -> None:
        """Write the events recorded so far to the outbox now, in this transaction.

        :meth:`commit` writes them anyway. A use case flushes first when its most
        contended statement (taking stock from a hot row) should come last, right
        before the commit: a row lock is held until the commit, and every statement
        after it makes the buyers queued on that row wait one more round trip.
        """
        ...

    async def commit(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
