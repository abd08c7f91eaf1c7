"""What the API process does when ``ELTIKETI_KAFKA_BOOTSTRAP`` is set: no background work.

With Kafka, the relay, the handlers, the sweeper and the notification retry run
in ``eltiketi worker`` processes. The API only commits use cases (events go to
the outbox in the same transaction) — so it keeps taking bookings while Kafka
is away. :class:`KafkaApiProvider` gives the app a disabled
:class:`~eltiketi_app.runtime.loops.Runtime` for that; the app's container
registers it instead of the in-process bus when Kafka is configured.
"""

from __future__ import annotations

from collections.abc import Sequence

from dishka import Provider, Scope, provide

from eltiketi_app.ioc.types import Persistence
from eltiketi_app.metrics import Metrics
from eltiketi_app.runtime.loops import Intervals, Runtime
from eltiketi_app.settings import Settings
from eltiketi_core.domain.events import DomainEvent
from eltiketi_core.ports.clock import Clock
from eltiketi_core.usecases import Ticketing
from eltiketi_core.usecases.relay import OutboxRelay


class _WorkersPublish:
    """The API never relays in Kafka mode; a call here is a wiring mistake."""

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        raise RuntimeError("with ELTIKETI_KAFKA_BOOTSTRAP set, `eltiketi worker relay` publishes")


class KafkaApiProvider(Provider):
    """Kafka mode for the API: a runtime with no loops (``/health/ready`` says ``ok``)."""

    scope = Scope.APP

    @provide
    def runtime(
        self,
        *,
        settings: Settings,
        ticketing: Ticketing,
        persistence: Persistence,
        clock: Clock,
        metrics: Metrics,
    ) -> Runtime:
        return Runtime(
            ticketing=ticketing,
            relay=OutboxRelay(persistence.uow, _WorkersPublish(), clock),
            uow=persistence.uow,
            metrics=metrics,
            intervals=Intervals.from_settings(settings),
            enabled=False,
        )
