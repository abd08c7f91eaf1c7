"""``eltiketi worker <role>…``: one process running some of the background roles on Kafka.

The process builds its core exactly as the API does — the app's dishka container
from the same ``ELTIKETI_*`` settings — with the runner of its roles
(:class:`~eltiketi_app.ioc.background.WorkerProvider`). SIGTERM or SIGINT stops it
gracefully: loops finish their iteration (the relay its batch, then it releases the
lease), consumers finish (and commit) the message in hand, all within
``ELTIKETI_WORKER_GRACEFUL_SECONDS``; then it exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence

from eltiketi_app.background.config import WorkerConfig
from eltiketi_app.background.roles import KAFKA_ROLES, Role
from eltiketi_app.background.runner import Runner
from eltiketi_app.ioc.background import WorkerProvider
from eltiketi_app.ioc.container import make_container
from eltiketi_app.ioc.types import Persistence
from eltiketi_app.runtime.collector import freeze_startup_objects
from eltiketi_app.settings import Settings, SettingsError

log = logging.getLogger("eltiketi.worker")


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
        config: worker knobs (Kafka layout, relay timings, shutdown grace).
        roles: what to run.
    """

    def __init__(self, settings: Settings, config: WorkerConfig, roles: Sequence[Role]) -> None:
        check_roles(roles, settings, config)
        self.settings = settings
        self.config = config
        self.roles = list(roles)
        self.runner: Runner | None = None
        self._stop_requested = False

    def request_stop(self) -> None:
        """What SIGTERM/SIGINT do: finish the work in hand, then exit."""
        if not self._stop_requested:
            log.info("stopping: finishing the work in hand", extra={"roles": self.roles})
        self._stop_requested = True
        if self.runner is not None:
            self.runner.request_stop()

    async def run(self) -> int:
        """Run until stopped; returns the exit status (0 after a graceful stop)."""
        container = make_container(self.settings, [WorkerProvider(self.roles, self.config)])
        try:
            persistence = await container.get(Persistence)
            self.runner = runner = await container.get(Runner)
            if self._stop_requested or not await runner.start():
                return 0  # stopped before it started (e.g. while Kafka was unreachable)
            freeze_startup_objects()
            log.info(
                "worker started",
                extra={
                    "roles": [r.value for r in self.roles],
                    "storage": persistence.kind,
                    "kafka": self.config.kafka.bootstrap if self.config.kafka else None,
                },
            )
            crashed = await runner.wait()
            status = 1 if crashed and not runner.stopping else 0
            if crashed:
                log.error("a worker role stopped unexpectedly", extra={"roles": crashed})
            self.request_stop()
            await runner.stop()
            log.info("worker stopped", extra={"exit_status": status})
            return status
        finally:
            if self.runner is not None:
                await self.runner.stop()  # a no-op after a graceful stop
            await container.close()


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
