"""The relay role: the core's ``OutboxRelay`` publishing to Kafka, in a loop, under a lease.

While Kafka is away, ``relay_once`` raises (after the client's request timeout);
the loop backs off exponentially (capped) and tries again. Nothing is marked
published until Kafka acknowledged it, so the outbox simply grows meanwhile —
the API keeps committing bookings into it — and drains when Kafka is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from eltiketi_app.workers.config import RelayTimings
from eltiketi_app.workers.lease import Lease
from eltiketi_core.usecases.relay import OutboxRelay

log = logging.getLogger("eltiketi.worker.relay")


class RelayLoop:
    """Runs :class:`OutboxRelay` until stopped; publishes only while holding the lease.

    Args:
        relay: the core relay, built with the Kafka publisher.
        lease: decides which of several relay processes publishes.
        timings: poll interval, lease retry, backoff.
    """

    def __init__(self, relay: OutboxRelay, lease: Lease, timings: RelayTimings) -> None:
        self._relay = relay
        self._lease = lease
        self._timings = timings
        #: Events published by this process (for logs and tests).
        self.published = 0
        #: Consecutive failed batches (0 when healthy).
        self.failures = 0
        #: Failed batches since start.
        self.failed_batches = 0
        #: The pause after the next empty look (see :class:`RelayTimings`).
        self._idle_pause = timings.poll_interval

    async def run(self, stopping: asyncio.Event) -> None:
        """Loop until ``stopping`` is set; the batch in hand is finished first."""
        try:
            while not stopping.is_set():
                delay = await self._step()
                if delay > 0:
                    await _wait(stopping, delay)
        finally:
            if self._lease.held:
                await self._lease.release()
                log.info("relay lease released")

    async def _step(self) -> float:
        """One iteration; returns how long to pause before the next."""
        if not self._lease.held:
            if not await self._lease.acquire():
                return self._timings.lease_retry
            log.info("relay lease acquired: this process publishes the outbox")
        elif not await self._lease.still_held():
            log.warning("relay lease lost: another relay may publish now")
            return 0.0
        try:
            sent = await self._relay.relay_once()
        except Exception as error:
            self.failures += 1
            self.failed_batches += 1
            delay = min(
                self._timings.max_backoff, self._timings.base_backoff * 2 ** (self.failures - 1)
            )
            log.warning(
                "relay batch failed; retrying",
                extra={"failures": self.failures, "retry_in": delay, "error": repr(error)},
            )
            return delay
        if self.failures:
            log.info("relay recovered", extra={"after_failures": self.failures})
            self.failures = 0
        self.published += sent
        if sent:
            log.debug("relayed", extra={"events": sent})
            if sent >= self._timings.batch:
                return 0.0  # a full batch: more is waiting
            # What came in meanwhile goes out together after a short pause, not as
            # a batch of one or two: each batch costs a lease check, two
            # transactions and a round trip to Kafka.
            self._idle_pause = min(self._timings.quick_poll, self._timings.poll_interval)
        pause = self._idle_pause
        self._idle_pause = min(pause * 2, self._timings.poll_interval)
        return pause


async def _wait(stopping: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), timeout=seconds)
