"""The background runner itself: roles → loops on any bus, backoff, failures, graceful stop.

The embedded server's use of it (woken by commits, draining at stop) is in
``test_runtime.py``; the relay's pacing in ``test_relay_pacing.py``; Kafka processes in
``tests/integration/kafka``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from eltiketi_adapters.memory import InMemoryTicketing, InProcessBus
from eltiketi_app.background.config import worker_config
from eltiketi_app.background.inprocess import InProcess
from eltiketi_app.background.kafka import Kafka
from eltiketi_app.background.lease import LocalLease, PostgresAdvisoryLease, shared_bus_lease
from eltiketi_app.background.loop import Loop, backoff
from eltiketi_app.background.relay import RelayLoop, RelayTimings
from eltiketi_app.background.roles import EVERY_ROLE, Role, handlers_for
from eltiketi_app.background.runner import Intervals, Runner
from eltiketi_app.ioc.background import WorkerProvider
from eltiketi_app.ioc.container import make_container
from eltiketi_app.metrics import Metrics
from eltiketi_app.settings import Settings
from eltiketi_core.domain.events import DomainEvent
from eltiketi_core.usecases import Ticketing
from eltiketi_core.usecases.relay import OutboxRelay
from tests.unit.app.waiting import until

QUICK = Intervals(sweep=0.01, notification_retry=0.01, jobs=0.01, prune=0.01)
SLOW = Intervals(sweep=60, notification_retry=60, jobs=60, prune=60)


class SharedBus:
    """A bus other processes share, as Kafka is: it records what the runner asks of it."""

    local = False

    def __init__(self, *, reachable: bool = True) -> None:
        self.reachable = reachable
        self.published: list[DomainEvent] = []
        self.calls: list[str] = []

    @property
    def publisher(self) -> SharedBus:
        return self

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        self.published.extend(events)

    async def start(self, stopping: asyncio.Event) -> bool:
        self.calls.append("start")
        if not self.reachable:
            await stopping.wait()  # retrying until told to stop, as Kafka's does
            return False
        return True

    def request_stop(self) -> None:
        self.calls.append("request_stop")

    async def stop(self) -> None:
        self.calls.append("stop")


def _runner(
    kit: InMemoryTicketing,
    roles: Sequence[Role],
    bus: InProcess | SharedBus | None,
    *,
    intervals: Intervals = SLOW,
    metrics: Metrics | None = None,
    grace: float = 5.0,
) -> Runner:
    return Runner(
        roles,
        bus,
        core=kit.core,
        uow=kit.uow,
        metrics=metrics or Metrics(),
        intervals=intervals,
        relay=RelayTimings(poll_interval=60, quick_poll=60),
        grace=grace,
    )


# -- one set of roles, whatever the bus -----------------------------------------------------


async def test_the_same_roles_run_the_same_loops_in_process_and_on_a_shared_bus() -> None:
    kit = InMemoryTicketing()
    roles = [Role.RELAY, Role.NOTIFICATIONS, Role.SWEEPER, Role.JOBS, Role.INVENTORY]
    in_process = _runner(kit, roles, InProcess(kit.bus))
    shared = _runner(kit, roles, SharedBus())

    for runner in (in_process, shared):
        assert await runner.start()
        try:
            assert runner.health() == "ok"
        finally:
            await runner.stop()

    expected = ["relay", "notification_retry", "sweeper", "prune", "jobs"]
    assert in_process.loops == shared.loops == expected
    assert _runner(kit, [Role.SWEEPER, Role.JOBS], None).loops == ["sweeper", "prune", "jobs"]
    assert _runner(kit, [Role.INVENTORY], SharedBus()).loops == []  # the bus runs consumers


def test_the_consumer_roles_choose_the_handlers_in_the_core_s_order() -> None:
    core = InMemoryTicketing().core

    assert handlers_for(EVERY_ROLE, core) == core.handlers
    assert handlers_for([Role.REFUNDS, Role.SWEEPER, Role.INVENTORY], core) == [
        core.inventory_handler,
        core.refund_executor,
    ]
    assert handlers_for([Role.RELAY, Role.JOBS], core) == []


def test_the_relay_and_the_consumers_need_a_bus() -> None:
    kit = InMemoryTicketing()

    with pytest.raises(ValueError, match="relay, payments need a bus"):
        _runner(kit, [Role.PAYMENTS, Role.RELAY], None)


async def test_serve_and_worker_get_one_runner_each_from_their_settings(tmp_path: Path) -> None:
    embedded = make_container(Settings(data_dir=tmp_path / "embedded"))
    try:
        runner = await embedded.get(Runner)
        core = await embedded.get(Ticketing)
        assert runner.roles == list(EVERY_ROLE)
        assert isinstance(runner.bus, InProcess)
        assert runner.bus.bus is await embedded.get(InProcessBus)
        assert runner.bus.bus._handlers == core.handlers
        assert runner.relay is not None
        assert isinstance(runner.relay.lease, LocalLease)
    finally:
        await embedded.close()

    kafka = Settings(
        data_dir=tmp_path / "kafka",
        kafka_bootstrap="127.0.0.1:1",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}",
    )
    api = make_container(kafka)
    roles = [Role.RELAY, Role.INVENTORY, Role.SWEEPER]
    worker = make_container(kafka, [WorkerProvider(roles, worker_config(kafka))])
    try:
        assert not (await api.get(Runner)).enabled  # the API leaves the roles to workers
        runner = await worker.get(Runner)
        core = await worker.get(Ticketing)
        assert runner.roles == roles
        assert runner.loops == ["relay", "sweeper", "prune"]
        assert isinstance(runner.bus, Kafka)
        assert runner.bus._handlers == [core.inventory_handler]
        assert runner.relay is not None
        assert isinstance(runner.relay.lease, LocalLease)  # SQLite: run one relay
    finally:
        await worker.close()
        await api.close()


def test_relays_sharing_a_bus_take_turns_only_on_postgresql() -> None:
    postgres = shared_bus_lease("postgresql+asyncpg://eltiketi@127.0.0.1:1/unused")

    assert isinstance(postgres, PostgresAdvisoryLease)
    assert isinstance(shared_bus_lease("sqlite+aiosqlite:///x.db"), LocalLease)


# -- backoff ----------------------------------------------------------------------------------


def test_the_backoff_doubles_from_its_base_up_to_its_cap() -> None:
    assert [backoff(n, base=0.5, cap=30) for n in range(1, 9)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        8.0,
        16.0,
        30.0,
        30.0,
    ]


async def _nothing() -> None:
    return None


def test_a_loop_backs_off_from_twice_its_period_and_the_relay_from_its_timings() -> None:
    kit = InMemoryTicketing()
    loop = Loop("sweeper", _nothing, every=5.0)
    relay = RelayLoop(
        OutboxRelay(kit.uow, kit.bus, kit.clock),
        LocalLease(),
        RelayTimings(base_backoff=0.2, max_backoff=1.0),
    )

    assert [loop.retry_in(n) for n in (1, 2, 3, 4, 5)] == [10.0, 20.0, 40.0, 60.0, 60.0]
    assert [relay.retry_in(n) for n in (1, 2, 3, 4)] == [0.2, 0.4, 0.8, 1.0]


# -- a failing iteration ------------------------------------------------------------------------


class FlakySweeper:
    """Raises on its first ``failures`` sweeps, then counts the good ones."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.swept = 0

    async def sweep(self) -> int:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("database away")
        self.swept += 1
        return 0


async def test_a_failing_iteration_is_counted_and_the_loop_goes_on() -> None:
    kit = InMemoryTicketing()
    flaky = FlakySweeper(failures=2)
    kit.core.sweeper = flaky  # type: ignore[assignment]
    metrics = Metrics()
    runner = _runner(
        kit, [Role.SWEEPER], None, metrics=metrics, intervals=Intervals(sweep=0.001, prune=60)
    )
    await runner.start()
    try:
        await until(lambda: flaky.swept >= 1, within=10)
        assert runner.health() == "ok"
    finally:
        await runner.stop()

    errors = metrics.registry.get_sample_value(
        "eltiketi_background_errors_total", {"loop": "sweeper"}
    )
    assert errors == 2


async def test_a_loop_recovers_after_failures() -> None:
    calls: list[str] = []

    async def work() -> float | None:
        calls.append("call")
        if len(calls) <= 3:
            raise RuntimeError("not yet")
        if len(calls) == 5:
            stopping.set()
        return None

    stopping = asyncio.Event()
    loop = Loop("flaky", work, every=0.0001, backoff_base=0.0001)

    await asyncio.wait_for(loop.run(stopping), timeout=5)

    assert len(calls) == 5
    assert (loop.failed, loop.failures) == (3, 0)


# -- stopping ---------------------------------------------------------------------------------


class SlowSweeper:
    """A sweep that takes ``seconds``; records whether it got to finish."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = asyncio.Event()
        self.finished = 0
        self.cancelled = 0

    async def sweep(self) -> int:
        self.started.set()
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        self.finished += 1
        return 0


async def test_stop_waits_for_the_work_in_hand_then_stops_the_bus() -> None:
    kit = InMemoryTicketing()
    slow = SlowSweeper(0.3)
    kit.core.sweeper = slow  # type: ignore[assignment]
    bus = SharedBus()
    runner = _runner(kit, [Role.SWEEPER, Role.INVENTORY], bus, intervals=QUICK)
    await runner.start()
    await asyncio.wait_for(slow.started.wait(), timeout=5)

    await runner.stop()

    assert (slow.finished, slow.cancelled) == (1, 0)
    assert bus.calls == ["start", "request_stop", "stop"]
    assert runner.health() == "not started"


async def test_work_still_running_after_the_grace_period_is_cancelled() -> None:
    kit = InMemoryTicketing()
    stuck = SlowSweeper(3600)
    kit.core.sweeper = stuck  # type: ignore[assignment]
    runner = _runner(kit, [Role.SWEEPER], None, intervals=QUICK, grace=0.05)
    await runner.start()
    await asyncio.wait_for(stuck.started.wait(), timeout=5)

    await asyncio.wait_for(runner.stop(), timeout=5)

    assert (stuck.finished, stuck.cancelled) == (0, 1)


async def test_a_shared_bus_gets_no_final_drain_a_local_one_does() -> None:
    kit = InMemoryTicketing()
    event = await kit.event_on_sale(capacity=5)
    await kit.buy(kit.customer(), event.event.id, {event.ticket_types[0].id: 1}, drain=False)
    bus = SharedBus()
    shared = _runner(kit, [Role.RELAY], bus)
    await shared.start()
    await until(lambda: len(bus.published) > 0)  # the first look relays what is there
    await shared.stop()
    published = len(bus.published)
    await kit.event_on_sale(name="Later", capacity=1)  # records events after the relay stopped

    local = _runner(kit, [Role.RELAY], InProcess(kit.bus))
    await local.start()
    await local.stop()

    assert len(bus.published) == published  # the standby relay publishes the rest
    async with kit.uow() as uow:
        assert await uow.outbox.pending(limit=10) == []  # the local runner drained it


async def test_a_stop_while_the_bus_is_unreachable_starts_no_loop() -> None:
    kit = InMemoryTicketing()
    bus = SharedBus(reachable=False)
    runner = _runner(kit, [Role.RELAY, Role.SWEEPER], bus)
    starting = asyncio.create_task(runner.start())
    await until(lambda: bus.calls == ["start"])

    runner.request_stop()

    assert await asyncio.wait_for(starting, timeout=5) is False
    assert runner.health() == "not started"
    await runner.stop()
    assert bus.calls == ["start", "request_stop", "request_stop"]  # never started: no stop


class DyingSweeper:
    """Ends its loop: a cancellation from inside the work is not a failure to retry."""

    async def sweep(self) -> int:
        raise asyncio.CancelledError


async def test_a_loop_that_ends_by_itself_is_reported_by_health_and_wait() -> None:
    kit = InMemoryTicketing()
    kit.core.sweeper = DyingSweeper()  # type: ignore[assignment]
    runner = _runner(kit, [Role.SWEEPER, Role.JOBS], None, intervals=QUICK)
    await runner.start()
    try:
        assert await asyncio.wait_for(runner.wait(), timeout=5) == ["sweeper"]
        assert runner.health() == "stopped: sweeper"  # what /health/ready answers
    finally:
        await runner.stop()
