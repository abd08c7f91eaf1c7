"""``eltiketi worker <role>…``: one process running some of the background roles.

Roles:

=================  =========================================================================
``relay``          outbox → Kafka, under the PostgreSQL advisory-lock lease
``inventory``      consumer group of the core ``InventoryHandler`` (held → sold, sold back)
``notifications``  consumer group of ``NotificationHandler``, plus the retry of failed sends
``payments``       consumer group of ``PaymentCanceller`` (expired/cancelled holds)
``refunds``        consumer group of ``RefundExecutor`` (money back through the gateway)
``sweeper``        releases expired holds; prunes outbox, inbox and idempotency records
``jobs``           background jobs (event cancellations), batch by batch under a lease
``all``            every role above
=================  =========================================================================

The process builds its core exactly as the API does — the app's dishka
container from the same ``ELTIKETI_*`` settings — and adds the Kafka bus.
SIGTERM or SIGINT stops it gracefully: consumers finish (and commit) the
message in hand, the relay finishes its batch and releases the lease, loops
finish their iteration; then it exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence

from eltiketi_adapters.kafka import KafkaBus, KafkaConfig, ensure_topics
from eltiketi_app.ioc.container import make_container
from eltiketi_app.ioc.stores import database_url
from eltiketi_app.ioc.types import Persistence
from eltiketi_app.runtime.collector import freeze_startup_objects
from eltiketi_app.runtime.loops import Intervals
from eltiketi_app.settings import Settings, SettingsError
from eltiketi_app.workers.config import WorkerConfig
from eltiketi_app.workers.lease import Lease, LocalLease, PostgresAdvisoryLease, is_postgres
from eltiketi_app.workers.relay import RelayLoop
from eltiketi_app.workers.roles import CONSUMER_ROLES, KAFKA_ROLES, Role
from eltiketi_core.ports.clock import Clock
from eltiketi_core.ports.messaging import EventHandler
from eltiketi_core.usecases import Ticketing
from eltiketi_core.usecases.relay import OutboxRelay

log = logging.getLogger("eltiketi.worker")


def handler_for(role: Role, ticketing: Ticketing) -> EventHandler:
    handlers: dict[Role, EventHandler] = {
        Role.INVENTORY: ticketing.inventory_handler,
        Role.NOTIFICATIONS: ticketing.notification_handler,
        Role.PAYMENTS: ticketing.payment_canceller,
        Role.REFUNDS: ticketing.refund_executor,
    }
    return handlers[role]


def check_roles(roles: Sequence[Role], settings: Settings, config: WorkerConfig) -> None:
    """Refuse combinations that cannot work, naming the variable to set."""
    problems: list[str] = []
    if config.kafka is None and KAFKA_ROLES.intersection(roles):
        needing = ", ".join(r.value for r in roles if r in KAFKA_ROLES)
        problems.append(
            f"roles {needing} need ELTIKETI_KAFKA_BOOTSTRAP (without Kafka, "
            "`eltiketi serve` runs the relay and every handler in-process)"
        )
    if settings.uses_memory_database:
        problems.append(
            "ELTIKETI_DATABASE_URL=memory:// cannot be shared with the API; "
            "workers need the same database as the API"
        )
    if problems:
        raise SettingsError(problems)


class WorkerProcess:
    """Assembles and runs the roles of one worker process.

    Args:
        settings: the app's settings (``ELTIKETI_*``).
        config: worker knobs (Kafka layout, relay timings).
        roles: what to run.
    """

    def __init__(self, settings: Settings, config: WorkerConfig, roles: Sequence[Role]) -> None:
        check_roles(roles, settings, config)
        self.settings = settings
        self.config = config
        self.roles = list(roles)
        self.stopping = asyncio.Event()
        self.bus: KafkaBus | None = None
        self.relay: RelayLoop | None = None

    def request_stop(self) -> None:
        """What SIGTERM/SIGINT do: finish the work in hand, then exit."""
        if not self.stopping.is_set():
            log.info("stopping: finishing the work in hand", extra={"roles": self.roles})
        self.stopping.set()
        if self.bus is not None:
            self.bus.stopping.set()

    async def run(self) -> int:
        """Run until stopped; returns the exit status (0 after a graceful stop)."""
        container = make_container(self.settings)
        tasks: dict[str, asyncio.Task[None]] = {}
        try:
            persistence = await container.get(Persistence)
            ticketing = await container.get(Ticketing)
            clock = await container.get(Clock)
            if self.config.kafka is not None and KAFKA_ROLES.intersection(self.roles):
                self.bus = await self._start_bus(self.config.kafka, ticketing)
                if self.bus is None:  # stopped before Kafka was reachable
                    return 0
            tasks = self._start_roles(persistence, ticketing, clock)
            freeze_startup_objects()
            log.info(
                "worker started",
                extra={
                    "roles": [r.value for r in self.roles],
                    "storage": persistence.kind,
                    "kafka": self.config.kafka.bootstrap if self.config.kafka else None,
                },
            )
            stop_waiter = asyncio.create_task(self.stopping.wait())
            done, _ = await asyncio.wait(
                [stop_waiter, *tasks.values()], return_when=asyncio.FIRST_COMPLETED
            )
            stop_waiter.cancel()
            crashed = [name for name, task in tasks.items() if task in done]
            status = 1 if crashed and not self.stopping.is_set() else 0
            if crashed:
                log.error("a worker role stopped unexpectedly", extra={"roles": crashed})
            self.request_stop()
            await self._shutdown(tasks)
            log.info("worker stopped", extra={"exit_status": status})
            return status
        finally:
            for task in tasks.values():
                task.cancel()
            if self.bus is not None:
                await self.bus.stop()
            await container.close()

    async def _start_bus(self, config: KafkaConfig, ticketing: Ticketing) -> KafkaBus | None:
        """Create the topics and start the consumers, retrying while Kafka is unreachable."""
        delay = 0.5
        while not self.stopping.is_set():
            bus = KafkaBus(config, logger=logging.getLogger("eltiketi.kafka"))
            for role in self.roles:
                if role in CONSUMER_ROLES:
                    bus.subscribe(handler_for(role, ticketing))
            try:
                await ensure_topics(config)
                self.bus = bus
                await bus.start()
            except Exception as error:
                self.bus = None
                await bus.stop()
                log.warning(
                    "kafka unreachable at start; retrying",
                    extra={"retry_in": delay, "error": repr(error)},
                )
                await _wait(self.stopping, delay)
                delay = min(delay * 2, 30.0)
                continue
            return bus
        return None

    def _start_roles(
        self, persistence: Persistence, ticketing: Ticketing, clock: Clock
    ) -> dict[str, asyncio.Task[None]]:
        tasks: dict[str, asyncio.Task[None]] = {}
        intervals = Intervals.from_settings(self.settings)
        if Role.RELAY in self.roles:
            assert self.bus is not None
            relay = OutboxRelay(
                persistence.uow, self.bus.publisher, clock, batch=self.config.relay.batch
            )
            self.relay = RelayLoop(relay, self._lease(), self.config.relay)
            tasks["relay"] = asyncio.create_task(self.relay.run(self.stopping), name="relay")
        if Role.NOTIFICATIONS in self.roles:
            tasks["notification_retry"] = self._every(
                "notification_retry",
                intervals.notification_retry,
                ticketing.notifications.retry_due,
            )
        if Role.JOBS in self.roles:
            tasks["jobs"] = self._every(
                "jobs", intervals.jobs, lambda: _run_jobs(ticketing, self.stopping)
            )
        if Role.SWEEPER in self.roles:
            tasks["sweeper"] = self._every("sweeper", intervals.sweep, ticketing.sweeper.sweep)
            tasks["prune"] = self._every(
                "prune", intervals.prune, lambda: _prune(persistence, ticketing, intervals)
            )
        return tasks

    def _lease(self) -> Lease:
        url = database_url(self.settings)
        if is_postgres(url):
            return PostgresAdvisoryLease(url)
        log.warning(
            "relay lease: the database is not PostgreSQL; run exactly one relay process",
            extra={"database": "sqlite"},
        )
        return LocalLease()

    def _every(
        self, name: str, seconds: float, work: Callable[[], Awaitable[object]]
    ) -> asyncio.Task[None]:
        async def loop() -> None:
            failures = 0
            while not self.stopping.is_set():
                try:
                    result = await work()
                    failures = 0
                    if isinstance(result, int) and result:
                        log.info("worker loop did work", extra={"loop": name, "count": result})
                except Exception as error:
                    failures += 1
                    log.warning(
                        "worker loop iteration failed",
                        extra={"loop": name, "failures": failures, "error": repr(error)},
                    )
                pause = seconds if failures == 0 else min(seconds * 2**failures, 60.0)
                await _wait(self.stopping, pause)

        return asyncio.create_task(loop(), name=name)

    async def _shutdown(self, tasks: dict[str, asyncio.Task[None]]) -> None:
        grace = self.config.graceful_timeout
        if tasks:
            _, pending = await asyncio.wait(tasks.values(), timeout=grace)
            for task in pending:
                log.warning("worker role did not finish in time", extra={"role": task.get_name()})
                task.cancel()
        if self.bus is not None:
            await self.bus.stop()  # consumers finish and commit the message in hand


async def _run_jobs(ticketing: Ticketing, stopping: asyncio.Event) -> int:
    """Advance due jobs slice after slice until none is due or the process stops."""
    total = 0
    while not stopping.is_set():
        batches = await ticketing.jobs.run_due()
        if not batches:
            break
        total += batches
    return total


async def _prune(persistence: Persistence, ticketing: Ticketing, intervals: Intervals) -> int:
    now = ticketing.clock.now()
    async with persistence.uow() as uow:
        outbox = await uow.outbox.prune(now - intervals.outbox_retention)
        inbox = await uow.inbox.prune(now - intervals.inbox_retention)
        keys = await uow.idempotency.prune(now - intervals.idempotency_retention)
        await uow.commit()
    return outbox + inbox + keys


async def _wait(stopping: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), timeout=seconds)


async def run_worker(settings: Settings, config: WorkerConfig, roles: Sequence[Role]) -> int:
    """Run a worker process with signal handling; returns its exit status."""
    process = WorkerProcess(settings, config, roles)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, process.request_stop)
    try:
        return await process.run()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
