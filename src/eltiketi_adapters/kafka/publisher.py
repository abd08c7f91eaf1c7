"""``KafkaEventPublisher``: the :class:`~eltiketi_core.ports.messaging.EventPublisher` on Kafka.

The outbox relay is its only caller. Every event goes to its family's topic
with the booking id as key, ``acks=all``, and the call returns only when Kafka
has acknowledged every event — or raises, and the relay publishes the whole
batch again (consumers are idempotent, so a repeat costs nothing).

Order: events with the same key are sent one after the other, each only once
the previous is acknowledged, so a failed send can never let a later event of
the same booking overtake it (the producer is not idempotent: tansu and many
setups lack it). Different keys are sent concurrently.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from eltiketi_adapters.kafka.envelope import encode_envelope, envelope_for
from eltiketi_adapters.kafka.errors import bus_unavailable
from eltiketi_adapters.kafka.topics import family_of
from eltiketi_core.domain.events import DomainEvent
from eltiketi_core.errors import DomainError

log = logging.getLogger(__name__)


class TopicPublisher(Protocol):
    """What this module needs of a FastStream Kafka publisher (one per topic)."""

    @property
    def publish(self) -> Callable[..., Awaitable[Any]]: ...


class KafkaEventPublisher:
    """Publishes domain events, in order per key, to their family topics.

    Args:
        publishers: one FastStream publisher per event family (``orders``…),
            as :class:`~eltiketi_adapters.kafka.bus.KafkaBus` builds them.
    """

    def __init__(self, publishers: Mapping[str, TopicPublisher]) -> None:
        self._publishers = dict(publishers)

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        """Deliver ``events`` (acknowledged by Kafka) or raise ``GatewayUnavailable``."""
        chains: dict[str, list[DomainEvent]] = {}
        for event in events:
            family_of(event.type)  # an unroutable event fails the batch before any send
            chains.setdefault(event.key, []).append(event)
        results = await asyncio.gather(
            *(self._send_chain(chain) for chain in chains.values()), return_exceptions=True
        )
        failures = [result for result in results if isinstance(result, BaseException)]
        if not failures:
            return
        first = failures[0]
        if isinstance(first, DomainError):
            raise first
        if not isinstance(first, Exception):  # CancelledError and the like pass through
            raise first
        log.warning(
            "publishing to kafka failed",
            extra={"events": len(events), "failed_keys": len(failures), "error": repr(first)},
        )
        raise bus_unavailable(first) from first

    async def _send_chain(self, chain: list[DomainEvent]) -> None:
        for event in chain:
            envelope = envelope_for(event)
            await self._publishers[family_of(event.type)].publish(
                encode_envelope(envelope),
                key=envelope.key.encode(),
                headers=envelope.headers(),
                correlation_id=str(envelope.event_id),
            )
