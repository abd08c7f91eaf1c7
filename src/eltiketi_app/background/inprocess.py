"""The runner's in-process bus: publishing calls this process's handlers (the embedded server)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from eltiketi_adapters.memory import InProcessBus
from eltiketi_app.metrics import Metrics
from eltiketi_core.domain.events import DomainEvent
from eltiketi_core.ports.messaging import EventPublisher


class InProcess:
    """:class:`~eltiketi_app.background.bus.Bus` over :class:`InProcessBus`: publishing
    calls the handlers.

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
