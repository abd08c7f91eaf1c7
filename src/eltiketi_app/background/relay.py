"""The relay role: the core's ``OutboxRelay`` in a loop, under a lease, paced.

One loop serves both buses. Before every batch it makes sure this process holds
the lease (with Kafka, a PostgreSQL advisory lock, so only one relay publishes
and the outbox order holds on the partitions; in-process, a lease that is always
held). It paces its looks at the outbox with :class:`RelayTimings`: at once after
a full batch, soon after a partial one, then slower while the outbox stays empty.
The embedded server also wakes it on every commit, so a confirmed order's
tickets go out at once.

While the bus is away ``relay_once`` raises (with Kafka, after the client's
request timeout); the loop backs off exponentially (capped) and tries again.
Nothing is marked published until the bus took it, so the outbox simply grows
meanwhile — the API keeps committing into it — and drains when the bus is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import msgspec
import structlog

from eltiketi_app.background.lease import Lease
from eltiketi_app.background.loop import Loop, Wake
from eltiketi_app.metrics import Metrics
from eltiketi_core.usecases.relay import OutboxRelay

log = structlog.get_logger("eltiketi.background.relay")


class RelayTimings(msgspec.Struct, frozen=True, kw_only=True):
    """How the relay loop paces itself.

    ``poll_interval`` is the longest pause while the outbox stays empty. After a batch
    that was not full the relay looks again after ``quick_poll``, doubling the pause on
    every empty look; after a full one (``batch`` events) it looks at once. Under
    traffic an event waits tens of milliseconds, not half a second, for the next look,
    batches stay large enough to be cheap, and an idle outbox is still read only about
    twice a second. A failed batch is retried after ``base_backoff``, doubling up to
    ``max_backoff``; a standby relay tries the lease every ``lease_retry``.
    """

    poll_interval: float = 0.5
    quick_poll: float = 0.05
    lease_retry: float = 2.0
    base_backoff: float = 0.5
    max_backoff: float = 30.0
    batch: int = 100

    @classmethod
    def woken_by_commits(cls, tick: float = 1.0) -> RelayTimings:
        """The pacing of a relay that every commit of its process wakes (the embedded
        server): commits bring the events, so between them it only looks every
        ``tick``; a failed batch is retried after ``2 × tick``, doubling up to a minute."""
        return cls(poll_interval=tick, quick_poll=tick, base_backoff=2 * tick, max_backoff=60.0)


class RelayLoop:
    """Runs :class:`OutboxRelay` until stopped; publishes only while holding the lease.

    Args:
        relay: the core relay, built with the bus's publisher.
        lease: decides which of several relay processes publishes.
        timings: pacing, lease retry, backoff.
        metrics: where relayed events and failed batches are counted.
    """

    def __init__(
        self,
        relay: OutboxRelay,
        lease: Lease,
        timings: RelayTimings,
        *,
        metrics: Metrics | None = None,
    ) -> None:
        self._relay = relay
        self._lease = lease
        self._timings = timings
        self._metrics = metrics
        self._lock = asyncio.Lock()  # one batch at a time: the loop's or a flush's
        self._loop = Loop(
            "relay",
            self.step,
            every=timings.poll_interval,
            backoff_base=timings.base_backoff,
            backoff_cap=timings.max_backoff,
            metrics=metrics,
            failed_message="relay batch failed; retrying",
        )
        #: Events published by this process (for logs and tests).
        self.published = 0
        #: Batches the loop has read from the outbox (for tests: each is a query).
        self.looks = 0
        #: The pause after the next empty look (see :class:`RelayTimings`).
        self._idle_pause = timings.poll_interval

    @property
    def lease(self) -> Lease:
        return self._lease

    @property
    def failures(self) -> int:
        """Failed batches in a row (0 when healthy)."""
        return self._loop.failures

    @property
    def failed_batches(self) -> int:
        """Failed batches since start."""
        return self._loop.failed

    def retry_in(self, failures: int) -> float:
        """The pause after ``failures`` failed batches in a row."""
        return self._loop.retry_in(failures)

    async def run(self, stopping: asyncio.Event, wake: Wake | None = None) -> None:
        """Loop until ``stopping`` is set; the batch in hand is finished first, then the
        lease is released."""
        try:
            await self._loop.run(stopping, wake)
        finally:
            if self._lease.held:
                await self._lease.release()

    async def step(self) -> float:
        """One look at the outbox; returns how long to pause before the next.

        Raises:
            Exception: whatever the publish raised (the loop backs off).
        """
        if not self._lease.held:
            if not await self._lease.acquire():
                return self._timings.lease_retry
        elif not await self._lease.still_held():
            log.warning("relay lease lost: another relay may publish now")
            return 0.0
        self.looks += 1
        sent = await self._relay_by(self._relay.relay_once)
        if sent >= self._timings.batch:
            return 0.0  # a full batch: more is waiting
        if sent:
            # What came in meanwhile goes out together after a short pause, not as
            # a batch of one or two: each batch costs a lease check, two
            # transactions and a round trip to the bus.
            self._idle_pause = min(self._timings.quick_poll, self._timings.poll_interval)
        pause = self._idle_pause
        self._idle_pause = min(pause * 2, self._timings.poll_interval)
        return pause

    async def drain(self) -> int:
        """Publish everything in the outbox now (what handlers add meanwhile goes too);
        0 if another process holds the lease."""
        if not self._lease.held and not await self._lease.acquire():
            return 0
        return await self._relay_by(self._relay.drain)

    async def _relay_by(self, relaying: Callable[[], Awaitable[int]]) -> int:
        async with self._lock:
            sent = await relaying()
        self.published += sent
        if sent:
            log.debug("relayed", events=sent)
            if self._metrics is not None:
                self._metrics.relayed.inc(sent)
        return sent
