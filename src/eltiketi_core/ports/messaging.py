"""Moving domain events from the outbox to the handlers that react to them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from eltiketi_core.domain.events import DomainEvent


class EventPublisher(Protocol):
    async def publish(self, events: Sequence[DomainEvent]) -> None:
        """Deliver the events in order, or raise; the relay retries what raised.

        Delivery is at least once: handlers must be idempotent (they use the inbox).
        """
        ...


class EventHandler(Protocol):
    """A consumer of domain events. ``name`` is its inbox identity and consumer group."""

    name: str
    handles: frozenset[type[DomainEvent]]

    async def __call__(self, event: DomainEvent) -> None: ...
