"""The runner: the background work of one process, for the roles it was given.

See :mod:`eltiketi_app.background` for the design. The runner turns roles into
loops (:data:`~eltiketi_app.background.roles.LOOPS`), starts the bus's consumers
before them, and stops everything in the reverse order, waiting for the work in
hand.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import msgspec
import structlog

from eltiketi_app.background.bus import Bus
from eltiketi_app.background.lease import Lease, LocalLease
from eltiketi_app.background.loop import Loop, Wake
from eltiketi_app.background.relay import RelayLoop, RelayTimings
from eltiketi_app.background.roles import CONSUMER_ROLES, Role, loops_for
from eltiketi_app.metrics import Metrics
from eltiketi_app.settings import Settings
from eltiketi_core.ports.uow import UnitOfWorkFactory
from eltiketi_core.usecases import Ticketing
from eltiketi_core.usecases.relay import OutboxRelay

log = structlog.get_logger("eltiketi.background")

#: How long a stopping in-process runner spends on its last drain of the outbox.
FINAL_DRAIN_SECONDS = 5.0


class Intervals(msgspec.Struct, frozen=True, kw_only=True):
    """Seconds between iterations of the loops other than the relay (paced by
    :class:`~eltiketi_app.background.relay.RelayTimings`)."""

    sweep: float = 5.0
    notification_retry: float = 5.0
    jobs: float = 1.0
    """How often an idle job loop looks for due jobs (a busy one goes on at once)."""
    prune: float = 3600.0
    coalesce: float = 0.01
    """After a wake-up (a commit for the relay, a queued job for the job loop) a loop
    waits this long, so the wake-ups of a busy moment are served by one iteration."""

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


class Runner:
    """Runs the loops of ``roles`` in this process, and the consumers through ``bus``.

    Args:
        roles: what this process does; none for an API that leaves background work
            to workers (it then starts nothing and is always healthy).
        bus: where the relay publishes and the consumers run; needed by the relay
            and the consumer roles.
        core: the use cases the loops call.
        uow: the outbox's unit of work, for the relay.
        metrics: where iterations, relayed events and failures are counted.
        intervals: the loops' periods.
        relay: the relay's pacing.
        lease: who may relay (default: always this process).
        grace: how long :meth:`stop` waits for the work in hand before cancelling it.
    """

    def __init__(
        self,
        roles: Sequence[Role],
        bus: Bus | None,
        *,
        core: Ticketing,
        uow: UnitOfWorkFactory,
        metrics: Metrics,
        intervals: Intervals | None = None,
        relay: RelayTimings | None = None,
        lease: Lease | None = None,
        grace: float = 30.0,
    ) -> None:
        self.roles = [role for role in Role if role in roles]
        needing = [r.value for r in self.roles if r is Role.RELAY or r in CONSUMER_ROLES]
        if needing and bus is None:
            raise ValueError(f"roles {', '.join(needing)} need a bus")
        self._bus = bus
        self._core = core
        self._metrics = metrics
        self._intervals = intervals or Intervals()
        self._grace = grace
        self.relay: RelayLoop | None = None
        if Role.RELAY in self.roles:
            assert bus is not None
            timings = relay or RelayTimings()
            self.relay = RelayLoop(
                OutboxRelay(uow, bus.publisher, core.clock, batch=timings.batch),
                lease or LocalLease(),
                timings,
                metrics=metrics,
            )
        self._loops = {name: self._loop(name) for name in loops_for(self.roles) if name != "relay"}
        self._stopping = asyncio.Event()
        self._relay_wake = Wake(self._intervals.coalesce)
        self._jobs_wake = Wake(self._intervals.coalesce)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._bus_started = False

    @property
    def bus(self) -> Bus | None:
        return self._bus

    @property
    def loops(self) -> list[str]:
        """The names of the loops this runner runs (metrics, logs, ``/health/ready``)."""
        return loops_for(self.roles)

    @property
    def enabled(self) -> bool:
        """False for a runner with no role: it starts nothing."""
        return bool(self.roles)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def wake_relay(self) -> None:
        """Ask the relay to run now (called after each commit; cheap and idempotent)."""
        self._relay_wake.set()

    def wake_jobs(self) -> None:
        """Ask the job loop to look for due jobs now (a request has just queued one)."""
        self._jobs_wake.set()

    async def start(self) -> bool:
        """Start the bus's consumers (waiting while the bus is unreachable), then the loops.

        Returns False if a stop was requested before everything started.
        """
        if not self.enabled or self._tasks:
            return not self.stopping
        if self._bus is not None:
            if not await self._bus.start(self._stopping):
                return False
            self._bus_started = True
        if self.relay is not None:
            self._tasks["relay"] = asyncio.create_task(
                self.relay.run(self._stopping, self._relay_wake), name="eltiketi-relay"
            )
        for name, loop in self._loops.items():
            wake = self._jobs_wake if name == "jobs" else None
            self._tasks[name] = asyncio.create_task(
                loop.run(self._stopping, wake), name=f"eltiketi-{name}"
            )
        log.info(
            "background loops started",
            loops=sorted(self._tasks),
            roles=[role.value for role in self.roles],
        )
        return True

    def request_stop(self) -> None:
        """What SIGTERM does: take no new work; the loops end after the iteration in hand."""
        self._stopping.set()
        if self._bus is not None:
            self._bus.request_stop()

    async def wait(self) -> list[str]:
        """Until a stop is requested or a loop ends by itself; returns the loops that did."""
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            done, _ = await asyncio.wait(
                [stop, *self._tasks.values()], return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stop.cancel()
        return sorted(name for name, task in self._tasks.items() if task in done)

    async def stop(self) -> None:
        """Stop gracefully: the loops finish the iteration in hand (within ``grace``
        seconds, then they are cancelled); an in-process runner drains the outbox once
        more; then the bus's consumers finish the message in hand and close."""
        self.request_stop()
        tasks, self._tasks = self._tasks, {}
        if tasks:
            _, late = await asyncio.wait(tasks.values(), timeout=self._grace)
            for name, task in tasks.items():
                if task in late:
                    log.warning("background loop did not finish in time", loop=name)
                    task.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)
            if self._bus is not None and self._bus.local:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.flush(), timeout=FINAL_DRAIN_SECONDS)
        if self._bus is not None and self._bus_started:
            self._bus_started = False
            await self._bus.stop()
        if tasks:
            log.info("background loops stopped")

    def health(self) -> str:
        """``ok``, ``not started``, or ``stopped: <loops>`` naming the loops that ended."""
        if not self.enabled:
            return "ok"
        if not self._tasks:
            return "not started"
        dead = sorted(name for name, task in self._tasks.items() if task.done())
        return "ok" if not dead else f"stopped: {', '.join(dead)}"

    async def flush(self) -> int:
        """Publish everything in the outbox now (what handlers add meanwhile goes too);
        0 without the relay role."""
        return 0 if self.relay is None else await self.relay.drain()

    # -- the loops ------------------------------------------------------------------------

    def _loop(self, name: str) -> Loop:
        work, every = {
            "sweeper": (self._sweep, self._intervals.sweep),
            "notification_retry": (self._retry_notifications, self._intervals.notification_retry),
            "jobs": (self._run_jobs, self._intervals.jobs),
            "prune": (self._prune, self._intervals.prune),
        }[name]
        return Loop(name, work, every=every, metrics=self._metrics)

    async def _sweep(self) -> None:
        released = await self._core.sweeper.sweep()
        if released:
            self._metrics.holds_expired.inc(released)
            log.info("expired holds released", count=released)

    async def _retry_notifications(self) -> None:
        sent = await self._core.notifications.retry_due()
        if sent:
            self._metrics.notifications_retried.inc(sent)
            log.info("notifications retried", count=sent)

    async def _run_jobs(self) -> None:
        """Advance due jobs slice after slice until none is due (or the process stops)."""
        while not self.stopping:
            batches = await self._core.jobs.run_due()
            if not batches:
                return
            self._metrics.job_batches.inc(batches)

    async def _prune(self) -> None:
        pruned = await self._core.pruning.prune()
        if pruned.total:
            log.info(
                "pruned",
                outbox=pruned.outbox,
                inbox=pruned.inbox,
                idempotency_keys=pruned.idempotency_keys,
            )
