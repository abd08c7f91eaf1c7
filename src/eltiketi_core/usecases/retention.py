"""Forgetting delivery bookkeeping once it can no longer matter: outbox, inbox, idempotency keys.

Each record is kept while something may still need it, then deleted:

* a **published outbox** row only documents what went out (the relay never reads it
  again), so a week is plenty for an operator looking back;
* an **inbox** row is what makes a redelivered event a no-op for its consumer, so it
  must outlive every redelivery: a replayed dead letter, a consumer group rewound
  by an operator. A month is longer than any of those should take;
* an **idempotency key** answers a client retrying the same request; clients retry
  within minutes, a day covers a client that comes back the next morning.
"""

from __future__ import annotations

from datetime import timedelta

import msgspec

from eltiketi_core.ports.clock import Clock
from eltiketi_core.ports.uow import UnitOfWorkFactory


class Retention(msgspec.Struct, frozen=True, kw_only=True):
    """How long each kind of record is kept (see the module for why these lengths)."""

    outbox: timedelta = timedelta(days=7)
    """Published outbox rows, counted from their publication (unpublished rows stay)."""
    inbox: timedelta = timedelta(days=30)
    """Inbox rows, counted from when the consumer processed the event."""
    idempotency_keys: timedelta = timedelta(hours=24)
    """Stored first answers to ``Idempotency-Key`` requests, counted from the request."""


class Pruned(msgspec.Struct, frozen=True, kw_only=True):
    """How many records one :meth:`Pruning.prune` deleted, per kind."""

    outbox: int = 0
    inbox: int = 0
    idempotency_keys: int = 0

    @property
    def total(self) -> int:
        return self.outbox + self.inbox + self.idempotency_keys


class Pruning:
    """Deletes what :class:`Retention` no longer keeps, in one transaction.

    Safe to run from several processes at once: each deletes what is old by its own
    clock, and a row deleted by another is simply not counted.
    """

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, retention: Retention | None = None
    ) -> None:
        self._uow = uow
        self._clock = clock
        self.retention = retention or Retention()

    async def prune(self) -> Pruned:
        now = self._clock.now()
        async with self._uow() as uow:
            pruned = Pruned(
                outbox=await uow.outbox.prune(now - self.retention.outbox),
                inbox=await uow.inbox.prune(now - self.retention.inbox),
                idempotency_keys=await uow.idempotency.prune(now - self.retention.idempotency_keys),
            )
            await uow.commit()
        return pruned
