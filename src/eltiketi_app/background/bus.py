"""What the runner needs of an event bus, and the in-process one.

The runner publishes through the bus (the relay role) and leaves the consumers to
it: the in-process bus calls the handlers while the relay publishes; Kafka runs a
consumer group per consumer role (:mod:`eltiketi_app.background.kafka`, imported
only by workers, since it needs the ``[kafka]`` extra).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from eltiketi_adapters.memory import InProcessBus
from eltiketi_app.metrics import Metrics
from eltiketi_core.domain.events import DomainEvent
from eltiketi_core.ports.messaging import EventPublisher


class Bus(Protocol):
    """The runner's side of an event bus."""

    @property
    def publisher(self) -> EventPublisher:
        """Where the relay publishes (valid from construction to the end)."""
        ...

    @property
    def local(self) -> bool:
        """True when the handlers run in this process, fed only by this process's relay:
        then the runner drains the outbox once more when it stops, and needs no lease."""
        ...

    async def start(self, stopping: asyncio.Event) -> bool:
        """Connect and start the consumers, waiting while the bus is unreachable;
        False if ``stopping`` was set first."""
        ...

    def request_stop(self) -> None:
        """Stop retrying: the consumers finish the message in hand and take no more."""
        ...

    async def stop(self) -> None:
        """Stop the consumers (committing what they finished) and close the clients."""
        ...


class InProcess:
    """:class:`Bus` over :class:`InProcessBus`: publishing calls the handlers.

    Args:
        bus: the in-process bus with this process's handlers.
        metrics: where the number of dead-lettered events is shown after each publish.
    """

    local = True

    def __init__(self, bus: InProcessBus, metrics: Metrics | None = None) -> None:
        self.bus = bus
        self._metrics = metrics

    @property
    def publisher(self) -> EventPublisher:
        return self

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        try:
            await self.bus.publish(events)
        finally:
            if self._metrics is not None:
                self._metrics.dead_letters.set(len(self.bus.dead_letters))

    async def start(self, stopping: asyncio.Event) -> bool:
        return not stopping.is_set()

    def request_stop(self) -> None:
        """Nothing to tell: a publish in hand finishes with the relay's batch."""

    async def stop(self) -> None:
        """Nothing to close."""
