"""``InProcessBus``: the core's event publisher that calls the handlers in this process.

The embedded server publishes its outbox through it (no broker), and the testing
kit drains through it, so a test sees every handler's effect without Kafka.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from eltiketi_core.domain.events import DomainEvent
from eltiketi_core.ports.messaging import EventHandler

log = logging.getLogger(__name__)


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
