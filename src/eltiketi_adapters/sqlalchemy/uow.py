"""The unit of work: one database transaction per use case, with the outbox inside it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from eltiketi_adapters.sqlalchemy._tx import ShardCounts, Tx
from eltiketi_adapters.sqlalchemy.errors import is_database_error, translate
from eltiketi_adapters.sqlalchemy.stores import (
    SqlBookingStore,
    SqlCatalogStore,
    SqlIdempotencyStore,
    SqlInboxStore,
    SqlInventoryStore,
    SqlInvitationStore,
    SqlJobStore,
    SqlNotificationStore,
    SqlOrderStore,
    SqlOrganizationStore,
    SqlOutboxStore,
    SqlPaymentStore,
    SqlRefundStore,
    SqlTicketStore,
)
from eltiketi_core.domain.events import DomainEvent
from eltiketi_core.errors import GatewayUnavailable

logger = logging.getLogger(__name__)

CommitListener = Callable[[], None]


class UnitOfWorkContext:
    """What every unit of work of one :class:`SqlAlchemyPersistence` shares."""

    def __init__(
        self,
        engine: AsyncEngine,
        dialect: str,
        *,
        write_gate: asyncio.Lock | None,
        gate_timeout: float,
    ) -> None:
        self.engine = engine
        self.dialect = dialect
        self.write_gate = write_gate
        self.gate_timeout = gate_timeout
        self.shard_counts = ShardCounts()
        self.commit_listeners: list[CommitListener] = []
        self.gate_owner: asyncio.Task[Any] | None = None

    def committed_events(self) -> None:
        for listener in list(self.commit_listeners):
            try:
                listener()
            except Exception:  # a listener must never turn a commit into a failure
                logger.exception("commit listener failed")


class SqlAlchemyUnitOfWork:
    """:class:`~eltiketi_core.ports.UnitOfWork` on one connection and one transaction.

    ``async with uow:`` checks out a connection and begins (on SQLite: ``BEGIN
    IMMEDIATE``, after waiting for this process's write gate, so in-process
    writers queue fairly instead of polling SQLite's lock). :meth:`commit`
    writes the recorded events to the outbox (unless :meth:`flush` already
    did), commits, then calls the commit listeners (the in-process relay wakes up). Leaving without a commit rolls
    back. After a commit the unit of work may go on: the next statement opens a
    new transaction, which the next :meth:`commit` commits.
    """

    catalog: SqlCatalogStore
    inventory: SqlInventoryStore
    bookings: SqlBookingStore
    payments: SqlPaymentStore
    orders: SqlOrderStore
    tickets: SqlTicketStore
    refunds: SqlRefundStore
    idempotency: SqlIdempotencyStore
    outbox: SqlOutboxStore
    inbox: SqlInboxStore
    notifications: SqlNotificationStore
    jobs: SqlJobStore
    organizations: SqlOrganizationStore
    invitations: SqlInvitationStore

    def __init__(self, context: UnitOfWorkContext) -> None:
        self._context = context
        self._connection: AsyncConnection | None = None
        self._events: list[DomainEvent] = []
        self._wrote_events = False
        self._gate_held = False

    async def __aenter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("this unit of work is already open; create one per use case")
        await self._enter_gate()
        try:
            connection = await self._context.engine.connect()
            try:
                await connection.begin()
            except BaseException:
                await connection.close()
                raise
        except Exception as error:
            self._leave_gate()
            if is_database_error(error):
                raise translate(error) from error
            raise
        except BaseException:
            self._leave_gate()
            raise
        self._connection = connection
        self._bind_stores(Tx(connection, self._context.dialect, self._context.shard_counts))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        self._events.clear()
        self._wrote_events = False
        try:
            if connection is not None:
                try:
                    if connection.in_transaction():
                        await connection.rollback()
                finally:
                    await connection.close()
        except Exception as error:
            # A rollback that fails (connection lost) must not hide the original error.
            if exc is None:
                if is_database_error(error):
                    raise translate(error) from error
                raise
            logger.warning("rollback failed", exc_info=error)
        finally:
            self._leave_gate()

    def record(self, *events: DomainEvent) -> None:
        self._events.extend(events)

    async def flush(self) -> None:
        self._open()
        events, self._events = self._events, []
        if events:
            await self.outbox.add(events)
            self._wrote_events = True

    async def commit(self) -> None:
        connection = self._open()
        await self.flush()
        try:
            await connection.commit()
        except Exception as error:
            if is_database_error(error):
                raise translate(error) from error
            raise
        if self._wrote_events:
            self._wrote_events = False
            self._context.committed_events()

    @property
    def connection(self) -> AsyncConnection:
        """The open connection (for adapter-internal tools and tests)."""
        return self._open()

    def _open(self) -> AsyncConnection:
        if self._connection is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._connection

    def _bind_stores(self, tx: Tx) -> None:
        self.catalog = SqlCatalogStore(tx)
        self.inventory = SqlInventoryStore(tx)
        self.bookings = SqlBookingStore(tx)
        self.payments = SqlPaymentStore(tx)
        self.orders = SqlOrderStore(tx)
        self.tickets = SqlTicketStore(tx)
        self.refunds = SqlRefundStore(tx)
        self.idempotency = SqlIdempotencyStore(tx)
        self.outbox = SqlOutboxStore(tx)
        self.inbox = SqlInboxStore(tx)
        self.notifications = SqlNotificationStore(tx)
        self.jobs = SqlJobStore(tx)
        self.organizations = SqlOrganizationStore(tx)
        self.invitations = SqlInvitationStore(tx)

    async def _enter_gate(self) -> None:
        gate = self._context.write_gate
        if gate is None:
            return
        task = asyncio.current_task()
        if task is not None and self._context.gate_owner is task:
            raise RuntimeError(
                "a unit of work is already open in this task; on SQLite it would wait on itself"
            )
        try:
            await asyncio.wait_for(gate.acquire(), timeout=self._context.gate_timeout)
        except TimeoutError as error:
            raise GatewayUnavailable(
                "database_busy",
                "the SQLite database stayed busy; is a unit of work opened inside another?",
            ) from error
        self._gate_held = True
        self._context.gate_owner = task

    def _leave_gate(self) -> None:
        if self._gate_held and self._context.write_gate is not None:
            self._gate_held = False
            self._context.gate_owner = None
            self._context.write_gate.release()
