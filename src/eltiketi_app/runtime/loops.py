"""Background work of an embedded process: relay, hold sweeper, notification retry,
background jobs, pruning.

Each loop is one asyncio task started in the app's lifespan and cancelled at
shutdown. An iteration that fails is logged, counted and retried on the next
tick; it never kills the loop. The relay also wakes right after every commit
(the persistence's commit hook), so a confirmed order's tickets go out at once;
the job loop wakes when a request has queued a job (an event's cancellation).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import structlog

from eltiketi_app.metrics import Metrics
from eltiketi_app.settings import Settings
from eltiketi_core.ports.uow import UnitOfWorkFactory
from eltiketi_core.usecases import Ticketing
from eltiketi_core.usecases.relay import InProcessBus, OutboxRelay

log = structlog.get_logger("eltiketi.runtime")


@dataclass(frozen=True, slots=True)
class Intervals:
    """Seconds between iterations of each loop (the relay also wakes on commit)."""

    relay_tick: float = 1.0
    relay_coalesce: float = 0.01
    """After a commit wakes the relay, it waits this long so that the commits of a busy
    moment go out as one batch: two transactions per batch instead of per commit."""
    sweep: float = 5.0
    notification_retry: float = 5.0
    jobs: float = 1.0
    """How often an idle job loop looks for due jobs (a busy one goes on at once)."""
    prune: float = 3600.0
    outbox_retention: timedelta = timedelta(days=7)
    inbox_retention: timedelta = timedelta(days=30)
    idempotency_retention: timedelta = timedelta(hours=24)

    @classmethod
    def from_settings(cls, settings: Settings) -> Intervals:
        """The operator's intervals (``ELTIKETI_SWEEP_INTERVAL_SECONDS``,
        ``ELTIKETI_NOTIFICATION_RETRY_INTERVAL_SECONDS``, ``ELTIKETI_JOB_INTERVAL_SECONDS``);
        the rest stay as defaulted."""
        return cls(
            sweep=settings.sweep_interval_seconds,
            notification_retry=settings.notification_retry_interval_seconds,
            jobs=settings.job_interval_seconds,
        )


class Runtime:
    """Owns the background tasks of one process.

    Args:
        ticketing: the core, for the sweeper, the notification retry and the jobs.
        relay: publishes the outbox to the bus.
        uow: for pruning outbox, inbox and idempotency records.
        metrics: where iterations are counted.
        intervals: loop timings.
        bus: the in-process bus, when this process runs the handlers itself.
        enabled: False in a process that leaves background work to workers.
    """

    def __init__(
        self,
        *,
        ticketing: Ticketing,
        relay: OutboxRelay,
        uow: UnitOfWorkFactory,
        metrics: Metrics,
        intervals: Intervals,
        bus: InProcessBus | None = None,
        enabled: bool = True,
    ) -> None:
        self._ticketing = ticketing
        self._relay = relay
        self._uow = uow
        self._metrics = metrics
        self._intervals = intervals
        self._bus = bus
        self._enabled = enabled
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wake: asyncio.Event | None = None
        self._wake_jobs: asyncio.Event | None = None
        self._relay_lock = asyncio.Lock()
        self._stopping = False

    @property
    def enabled(self) -> bool:
        return self._enabled

    def wake_relay(self) -> None:
        """Ask the relay to run now (called after each commit; cheap and idempotent)."""
        if self._wake is not None:
            self._wake.set()

    def wake_jobs(self) -> None:
        """Ask the job loop to look for due jobs now (a request has just queued one)."""
        if self._wake_jobs is not None:
            self._wake_jobs.set()

    async def start(self) -> None:
        if not self._enabled or self._tasks:
            return
        self._stopping = False
        self._wake = asyncio.Event()
        self._wake_jobs = asyncio.Event()
        loops: dict[str, tuple[Callable[[], Awaitable[object]], float, asyncio.Event | None]] = {
            "relay": (self._relay_pending, self._intervals.relay_tick, self._wake),
            "sweeper": (self._sweep, self._intervals.sweep, None),
            "notification_retry": (
                self._retry_notifications,
                self._intervals.notification_retry,
                None,
            ),
            "jobs": (self._run_jobs, self._intervals.jobs, self._wake_jobs),
            "prune": (self._prune, self._intervals.prune, None),
        }
        for name, (work, every, wake) in loops.items():
            self._tasks[name] = asyncio.create_task(
                self._loop(name, work, every, wake), name=f"eltiketi-{name}"
            )
        log.info("background loops started", loops=sorted(self._tasks))

    async def stop(self) -> None:
        """Cancel every loop and wait for it; the outbox is drained once more first."""
        if not self._tasks:
            return
        self._stopping = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.flush(), timeout=5)
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        log.info("background loops stopped")

    def health(self) -> str:
        if not self._enabled:
            return "ok"
        if not self._tasks:
            return "not started"
        dead = sorted(name for name, task in self._tasks.items() if task.done())
        return "ok" if not dead else f"stopped: {', '.join(dead)}"

    async def flush(self) -> int:
        """Publish everything in the outbox now (handlers may add more; they go too)."""
        return await self._relay_by(self._relay.drain)

    async def _relay_pending(self) -> int:
        return await self._relay_by(self._relay.relay_pending)

    async def _relay_by(self, relaying: Callable[[], Awaitable[int]]) -> int:
        async with self._relay_lock:
            sent = await relaying()
        if sent:
            self._metrics.relayed.inc(sent)
        if self._bus is not None:
            self._metrics.dead_letters.set(len(self._bus.dead_letters))
        return sent

    async def _sweep(self) -> int:
        released = await self._ticketing.sweeper.sweep()
        if released:
            self._metrics.holds_expired.inc(released)
            log.info("expired holds released", count=released)
        return released

    async def _retry_notifications(self) -> int:
        sent = await self._ticketing.notifications.retry_due()
        if sent:
            self._metrics.notifications_retried.inc(sent)
        return sent

    async def _run_jobs(self) -> int:
        """Advance due jobs slice after slice until none is due (or the process stops)."""
        total = 0
        while not self._stopping:
            batches = await self._ticketing.jobs.run_due()
            if not batches:
                break
            total += batches
            self._metrics.job_batches.inc(batches)
        return total

    async def _prune(self) -> None:
        now = self._ticketing.clock.now()
        async with self._uow() as uow:
            outbox = await uow.outbox.prune(now - self._intervals.outbox_retention)
            inbox = await uow.inbox.prune(now - self._intervals.inbox_retention)
            keys = await uow.idempotency.prune(now - self._intervals.idempotency_retention)
            await uow.commit()
        if outbox or inbox or keys:
            log.info("pruned", outbox=outbox, inbox=inbox, idempotency_keys=keys)

    async def _loop(
        self,
        name: str,
        work: Callable[[], Awaitable[object]],
        every: float,
        wake: asyncio.Event | None,
    ) -> None:
        failures = 0
        while not self._stopping:
            try:
                await work()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                self._metrics.loop_errors.labels(loop=name).inc()
                log.exception("background iteration failed", loop=name, failures=failures)
            delay = every if failures == 0 else min(every * 2**failures, 60.0)
            if wake is None:
                await asyncio.sleep(delay)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=delay)
                await asyncio.sleep(self._intervals.relay_coalesce)
            wake.clear()
