"""The outbox relay: the only writer to the event bus.

It reads the outbox in order, publishes, and marks what it published. It never
holds a transaction while publishing (handlers open their own), so a crash
between publish and mark publishes again — which idempotent handlers absorb.
The buses it publishes to are adapters: ``eltiketi_adapters.memory.InProcessBus``
(handlers in this process) and ``eltiketi_adapters.kafka.KafkaBus``.
"""

from __future__ import annotations

from eltiketi_core.ports.clock import Clock
from eltiketi_core.ports.messaging import EventPublisher
from eltiketi_core.ports.uow import UnitOfWorkFactory


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
