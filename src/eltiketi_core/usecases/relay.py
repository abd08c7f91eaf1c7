"""The outbox relay and the in-process bus.

The relay is the only writer to the bus: it reads the outbox in order,
publishes, and marks what it published. It never holds a transaction while
publishing (handlers open their own), so a crash between publish and mark
publishes again — which idempotent handlers absorb.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from eltiketi_core.domain.events import DomainEvent
from eltiketi_core.ports.clock import Clock
from eltiketi_core.ports.messaging import EventHandler, EventPublisher
from eltiketi_core.ports.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(
        self, uow: UnitOfWorkFactory, publisher: EventPublisher, clock: Clock, *, batch: int = 100
    ) -> None:
        self._uow = uow
        self._publisher = publisher
        self._clock = clock
        self._batch = batch

    async def relay_once(self) -> int:
        """Publish one batch; returns how many events went out (0: the outbox is empty)."""
        async with self._uow() as uow:
            entries = await uow.outbox.pending(limit=self._batch)
        if not entries:
            return 0
        await self._publisher.publish([entry.event for entry in entries])
        async with self._uow() as uow:
            await uow.outbox.mark_published([e.seq for e in entries], self._clock.now())
            await uow.commit()
        return len(entries)

    async def relay_pending(self) -> int:
        """Relay batches until one comes back short: what was committed before the call
        is out. Cheaper than :meth:`drain` by the last, empty read; a loop woken on every
        commit uses it, since events committed meanwhile wake it again."""
        total = 0
        while True:
            sent = await self.relay_once()
            total += sent
            if sent < self._batch:
                return total

    async def drain(self, *, max_batches: int = 10_000) -> int:
        """Relay until the outbox is empty (handlers may add events as they go)."""
        total = 0
        for _ in range(max_batches):
            sent = await self.relay_once()
            if sent == 0:
                break
            total += sent
        return total


class InProcessBus:
    """Delivers events straight to in-process handlers (embedded mode, tests).

    Events of one purchase (one :attr:`~DomainEvent.key`) are delivered in order;
    those of different purchases up to ``concurrency`` at a time, as Kafka
    partitions would: a handler waiting on the database or a mail server then
    does not hold up every other buyer's e-ticket. ``concurrency=1`` delivers
    everything in outbox order (the testing kit does, for repeatable tests).

    A failing handler is retried a few times with backoff; if it keeps failing
    the event is dead-lettered (logged with the error, kept in
    :attr:`dead_letters`) so one poison event cannot stop the others. Handlers
    that already succeeded skip a redelivery through their inbox.
    """

    def __init__(
        self,
        handlers: Sequence[EventHandler],
        *,
        attempts: int = 3,
        backoff_seconds: float = 0.05,
        concurrency: int = 16,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._handlers = list(handlers)
        self._attempts = attempts
        self._backoff = backoff_seconds
        self._concurrency = concurrency
        self.dead_letters: list[tuple[str, DomainEvent, str]] = []

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        by_key: dict[str, list[DomainEvent]] = {}
        for event in events:
            by_key.setdefault(event.key, []).append(event)
        if self._concurrency == 1 or len(by_key) == 1:
            await self._deliver_in_order(events)
            return
        gate = asyncio.Semaphore(self._concurrency)

        async def one_purchase(group: list[DomainEvent]) -> None:
            async with gate:
                await self._deliver_in_order(group)

        async with asyncio.TaskGroup() as deliveries:
            for group in by_key.values():
                deliveries.create_task(one_purchase(group))

    async def _deliver_in_order(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            for handler in self._handlers:
                if type(event) in handler.handles:
                    await self._deliver(handler, event)

    async def _deliver(self, handler: EventHandler, event: DomainEvent) -> None:
        for attempt in range(1, self._attempts + 1):
            try:
                await handler(event)
            except Exception as exc:
                if attempt == self._attempts:
                    log.exception(
                        "event dead-lettered",
                        extra={
                            "handler": handler.name,
                            "event_type": event.type,
                            "event_id": str(event.id),
                        },
                    )
                    self.dead_letters.append((handler.name, event, f"{type(exc).__name__}: {exc}"))
                    return
                await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
            else:
                return
