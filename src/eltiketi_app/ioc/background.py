"""The process's background runner, as each mode wants it (see :mod:`eltiketi_app.background`).

* :class:`InProcessBusProvider` — ``eltiketi serve`` without Kafka: every role in this
  process, the handlers fed by the relay through the in-process bus, the relay woken
  by every commit;
* :class:`KafkaApiProvider` — ``eltiketi serve`` with ``ELTIKETI_KAFKA_BOOTSTRAP``: a
  runner with no role (background work belongs to workers), so the API keeps
  committing into the outbox while Kafka is away;
* :class:`WorkerProvider` — ``eltiketi worker <role>…``: the named roles, on Kafka.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dishka import Provider, Scope, provide

from eltiketi_adapters.memory import InProcessBus
from eltiketi_app.background.bus import Bus
from eltiketi_app.background.inprocess import InProcess
from eltiketi_app.background.lease import Lease, shared_bus_lease
from eltiketi_app.background.relay import RelayTimings
from eltiketi_app.background.roles import EVERY_ROLE, KAFKA_ROLES, Role, handlers_for
from eltiketi_app.background.runner import Intervals, Runner
from eltiketi_app.ioc.stores import database_url
from eltiketi_app.ioc.types import Persistence
from eltiketi_app.metrics import Metrics
from eltiketi_app.settings import Settings
from eltiketi_core.usecases import Ticketing

if TYPE_CHECKING:
    from eltiketi_app.background.config import WorkerConfig


class InProcessBusProvider(Provider):
    """Embedded: every role runs here; the relay hands events to the handlers directly."""

    scope = Scope.APP

    @provide
    def bus(self, ticketing: Ticketing) -> InProcessBus:
        return InProcessBus(handlers_for(EVERY_ROLE, ticketing))

    @provide
    def runner(
        self,
        *,
        settings: Settings,
        ticketing: Ticketing,
        bus: InProcessBus,
        persistence: Persistence,
        metrics: Metrics,
    ) -> Runner:
        runner = Runner(
            EVERY_ROLE,
            InProcess(bus, metrics),
            core=ticketing,
            uow=persistence.uow,
            metrics=metrics,
            intervals=Intervals.from_settings(settings),
            relay=RelayTimings.woken_by_commits(),
            grace=settings.worker_graceful_seconds,
        )
        if persistence.subscribe_commits is not None:
            persistence.subscribe_commits(runner.wake_relay)
        return runner


class KafkaApiProvider(Provider):
    """Kafka mode for the API: a runner with no role (``/health/ready`` says ``ok``)."""

    scope = Scope.APP

    @provide
    def runner(self, *, ticketing: Ticketing, persistence: Persistence, metrics: Metrics) -> Runner:
        return Runner((), None, core=ticketing, uow=persistence.uow, metrics=metrics)


class WorkerProvider(Provider):
    """``eltiketi worker``: the given roles, their consumers on Kafka when they need it.

    Args:
        roles: what the worker runs (checked by ``check_roles``).
        config: the Kafka layout, the relay's pacing and the shutdown grace.
    """

    scope = Scope.APP

    def __init__(self, roles: Sequence[Role], config: WorkerConfig) -> None:
        super().__init__()
        self._roles = list(roles)
        self._config = config

    @provide
    def runner(
        self,
        *,
        settings: Settings,
        ticketing: Ticketing,
        persistence: Persistence,
        metrics: Metrics,
    ) -> Runner:
        bus: Bus | None = None
        if self._config.kafka is not None and KAFKA_ROLES.intersection(self._roles):
            from eltiketi_app.background.kafka import Kafka

            bus = Kafka(self._config.kafka, handlers_for(self._roles, ticketing))
        lease: Lease | None = None
        if Role.RELAY in self._roles:
            lease = shared_bus_lease(database_url(settings))
        return Runner(
            self._roles,
            bus,
            core=ticketing,
            uow=persistence.uow,
            metrics=metrics,
            intervals=Intervals.from_settings(settings),
            relay=self._config.relay,
            lease=lease,
            grace=self._config.graceful_timeout,
        )
