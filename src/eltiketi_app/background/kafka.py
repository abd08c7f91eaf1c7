"""The runner's Kafka bus: topics, consumer groups of the consumer roles, the relay's producer.

Imported only by ``eltiketi worker`` (it needs the ``[kafka]`` extra). It creates the
topics and starts the clients before the runner's loops start, retrying while Kafka
is unreachable, so a worker may start before its broker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import structlog

from eltiketi_adapters.kafka import KafkaBus, KafkaConfig, ensure_topics
from eltiketi_app.background.loop import backoff, pause
from eltiketi_core.domain.events import DomainEvent
from eltiketi_core.errors import GatewayUnavailable
from eltiketi_core.ports.messaging import EventHandler, EventPublisher

log = structlog.get_logger("eltiketi.background.kafka")


class Kafka:
    """:class:`~eltiketi_app.background.bus.Bus` on Kafka.

    Args:
        config: bootstrap servers, topic layout, retry budget, group timings.
        handlers: the handlers of this process's consumer roles, one group each.
    """

    local = False

    def __init__(self, config: KafkaConfig, handlers: Sequence[EventHandler]) -> None:
        self.config = config
        self._handlers = list(handlers)
        #: The started bus (a new one per attempt: a bus is started once).
        self.bus: KafkaBus | None = None

    @property
    def publisher(self) -> EventPublisher:
        return self

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        if self.bus is None:
            raise GatewayUnavailable("event_bus_unavailable", "the Kafka bus is not started yet")
        await self.bus.publisher.publish(events)

    async def start(self, stopping: asyncio.Event) -> bool:
        attempt = 0
        while not stopping.is_set():
            bus = KafkaBus(self.config, logger=logging.getLogger("eltiketi.kafka"))
            for handler in self._handlers:
                bus.subscribe(handler)
            try:
                await ensure_topics(self.config)
                self.bus = bus
                await bus.start()
            except Exception as error:
                self.bus = None
                await bus.stop()
                attempt += 1
                delay = backoff(attempt, base=0.5, cap=30.0)
                log.warning(
                    "kafka unreachable at start; retrying", retry_in=delay, error=repr(error)
                )
                await pause(delay, stopping)
                continue
            return True
        return False

    def request_stop(self) -> None:
        if self.bus is not None:
            self.bus.stopping.set()

    async def stop(self) -> None:
        if self.bus is not None:
            await self.bus.stop()  # consumers finish and commit the message in hand
