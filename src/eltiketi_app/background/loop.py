"""One background job run again and again: what every loop of the runner is made of.

A :class:`Loop` calls its work, pauses, and calls it again until the runner stops.
The work says how long to pause (or leaves it to the loop's period); a
:class:`Wake` lets someone outside cut the pause short. An iteration that raises
is logged and counted, and the loop backs off — ``base``, ``2 × base``, ``4 ×
base`` … at most ``cap`` — instead of dying: a database or broker that is away
for a while only slows the loop down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from eltiketi_app.metrics import Metrics

log = structlog.get_logger("eltiketi.background")

#: The work of one iteration: the seconds to pause before the next one, or None
#: for the loop's period.
Work = Callable[[], Awaitable[float | None]]


def backoff(failures: int, *, base: float, cap: float) -> float:
    """The pause after ``failures`` failed iterations in a row: ``base`` doubled each time,
    at most ``cap``."""
    return float(min(cap, base * 2 ** (failures - 1)))


async def pause(seconds: float, stopping: asyncio.Event, wake: asyncio.Event | None = None) -> bool:
    """Wait ``seconds``, less if ``stopping`` or ``wake`` is set meanwhile.

    Returns True if ``wake`` is set (it is left set: the caller clears it).
    """
    if seconds > 0 and not stopping.is_set():
        events = [stopping] if wake is None else [stopping, wake]
        waiters = [asyncio.ensure_future(event.wait()) for event in events]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)
    return wake is not None and wake.is_set()


class Wake:
    """Cuts a loop's pause short: a commit wakes the relay, a queued job the job loop.

    After a wake-up the loop waits ``coalesce`` seconds more before it works, so the
    wake-ups of a busy moment are served by one iteration (one relay batch for the
    commits of many requests, instead of one batch per commit).
    """

    def __init__(self, coalesce: float = 0.0) -> None:
        self.coalesce = coalesce
        self.event = asyncio.Event()

    def set(self) -> None:
        """Cheap and idempotent; safe to call from any callback on the loop's thread."""
        self.event.set()


class Loop:
    """Runs ``work`` until stopped; a failing iteration never ends the loop.

    Args:
        name: the loop's name in logs, metrics (``eltiketi_background_errors_total``)
            and ``/health/ready``.
        work: one iteration; returns the pause before the next (None: ``every``).
        every: the period between iterations when the work does not say otherwise.
        backoff_base: the pause after a first failure (default: twice ``every``).
        backoff_cap: the longest pause after failures.
        metrics: where failed iterations are counted.
        failed_message: what a failed iteration logs.
    """

    def __init__(
        self,
        name: str,
        work: Work,
        *,
        every: float,
        backoff_base: float | None = None,
        backoff_cap: float = 60.0,
        metrics: Metrics | None = None,
        failed_message: str = "background iteration failed",
    ) -> None:
        self.name = name
        self._work = work
        self.every = every
        self._backoff_base = backoff_base if backoff_base is not None else 2 * every
        self._backoff_cap = backoff_cap
        self._metrics = metrics
        self._failed_message = failed_message
        #: Failed iterations in a row (0 while healthy).
        self.failures = 0
        #: Failed iterations since the loop started.
        self.failed = 0

    async def run(self, stopping: asyncio.Event, wake: Wake | None = None) -> None:
        """Iterate until ``stopping`` is set; the iteration in hand is finished first."""
        while not stopping.is_set():
            try:
                seconds = await self._work()
            except Exception as error:
                await pause(self._failed(error), stopping)  # a wake does not cut a backoff
                continue
            if self.failures:
                log.info("background loop recovered", loop=self.name, after_failures=self.failures)
                self.failures = 0
            await self._pause(self.every if seconds is None else seconds, stopping, wake)

    def retry_in(self, failures: int) -> float:
        """The pause after ``failures`` failed iterations in a row."""
        return backoff(failures, base=self._backoff_base, cap=self._backoff_cap)

    def _failed(self, error: Exception) -> float:
        self.failures += 1
        self.failed += 1
        if self._metrics is not None:
            self._metrics.loop_errors.labels(loop=self.name).inc()
        delay = self.retry_in(self.failures)
        log.warning(
            self._failed_message,
            loop=self.name,
            failures=self.failures,
            retry_in=delay,
            error=repr(error),
            exc_info=self.failures == 1,  # the traceback once per streak, not every retry
        )
        return delay

    @staticmethod
    async def _pause(seconds: float, stopping: asyncio.Event, wake: Wake | None) -> None:
        if wake is None:
            await pause(seconds, stopping)
            return
        if seconds <= 0:  # going on at once covers whatever woke it
            wake.event.clear()
            return
        if await pause(seconds, stopping, wake.event) and not stopping.is_set():
            await pause(wake.coalesce, stopping)
        wake.event.clear()
