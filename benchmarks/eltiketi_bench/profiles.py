"""Run sizes (full, ``--quick``, ``--smoke``) and the scenario catalogue."""

from __future__ import annotations

from enum import StrEnum

import msgspec

from eltiketi_app.settings import default_of

API_PROCESSES = 2
"""API server processes (uvicorn, one worker each); each buyer is pinned to one."""
API_POOL_PER_PROCESS: int = default_of("database_pool_size") + default_of("database_max_overflow")
"""The app's default pool (``ELTIKETI_DATABASE_POOL_SIZE`` + ``…_MAX_OVERFLOW``); the bench
sets neither."""
RAW_POOL = API_PROCESSES * API_POOL_PER_PROCESS
"""The baseline's asyncpg pool: as large as the API's pools together."""


class Scenario(StrEnum):
    """Scenarios by letter, in the order they run."""

    FLASH_SALE = "a"
    FLASH_SALE_SHARDED = "b"
    PURCHASE = "c"
    PURCHASE_KAFKA = "d"
    READS = "e"
    HOLD_LATENCY = "f"
    EVENT_PAGE = "g"
    FLASH_SALE_UNGROUPED = "h"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Scenario.FLASH_SALE: "a flash sale (hot row)",
    Scenario.FLASH_SALE_SHARDED: "b flash sale (16 shards)",
    Scenario.PURCHASE: "c purchase journey",
    Scenario.PURCHASE_KAFKA: "d purchase + Kafka",
    Scenario.READS: "e reads GET /v1/events/{id}",
    Scenario.HOLD_LATENCY: "f holds at half rate (open loop)",
    Scenario.EVENT_PAGE: "g event page GET /events/{id} (HTML)",
    Scenario.FLASH_SALE_UNGROUPED: "h flash sale, one hold per transaction",
}


class Size(msgspec.Struct, frozen=True, kw_only=True):
    """How big each scenario is in one run size."""

    name: str
    flash_capacity: int
    flash_buyers: int
    shards: int
    purchase_buyers: int
    purchase_seconds: float
    kafka_seconds: float
    read_clients: int
    read_seconds: float
    open_loop_seconds: float
    raw_seconds: float
    """Length of the time-bounded raw baselines (purchase and reads)."""
    fallback_open_rate: float
    """Offered holds/s for scenario f when scenario a did not run."""
    fallback_journey_rate: float = 10.0
    """Offered journeys/s for d's fixed-rate phase if its closed loop accepted nothing."""
    flash_max_seconds: float = 600.0
    """A flash sale stops here even if not sold out (reported as such)."""
    overlap_startup: bool = False
    """Start the Kafka side while the other scenarios run (saves time, costs accuracy)."""
    kafka_api_processes: int = API_PROCESSES
    """API processes in Kafka mode for d."""
    kafka_one_worker: bool = False
    """d: run the relay and the consumers in one ``eltiketi worker`` process, not two."""
    settle_poll_s: float = 0.5
    """How often to look whether every order has its e-ticket after the load stopped."""


FULL = Size(
    name="full",
    flash_capacity=10_000,
    flash_buyers=256,
    shards=16,
    purchase_buyers=64,
    purchase_seconds=20.0,
    kafka_seconds=20.0,
    read_clients=64,
    read_seconds=10.0,
    open_loop_seconds=10.0,
    raw_seconds=5.0,
    fallback_open_rate=200.0,
)
QUICK = Size(
    name="quick",
    flash_capacity=1_200,
    flash_buyers=128,
    shards=16,
    purchase_buyers=32,
    purchase_seconds=6.0,
    kafka_seconds=6.0,
    read_clients=32,
    read_seconds=4.0,
    open_loop_seconds=4.0,
    raw_seconds=2.0,
    fallback_open_rate=150.0,
    flash_max_seconds=15.0,
)
SMOKE = Size(
    # The test suite's run: every scenario and every check, nothing measured for keeps.
    # Its wall time is mostly process start-ups (six Python processes) and settling;
    # the load phases are kept short so the whole run stays under 30 s on 2 busy cores.
    name="smoke",
    flash_capacity=120,
    flash_buyers=16,
    shards=16,
    purchase_buyers=8,
    purchase_seconds=0.8,
    kafka_seconds=0.8,
    read_clients=8,
    read_seconds=0.5,
    open_loop_seconds=0.5,
    raw_seconds=0.25,
    fallback_open_rate=50.0,
    flash_max_seconds=20.0,
    overlap_startup=True,
    # every Python process costs ~2.5 s of CPU to start (imports, app); d's side needs fewer
    kafka_api_processes=1,
    kafka_one_worker=True,
    settle_poll_s=0.1,
)


def parse_scenarios(text: str | None) -> list[Scenario]:
    """``"a,c"`` or ``"flash_sale,reads"`` → scenarios in run order; None → all.

    Raises:
        ValueError: an unknown name.
    """
    if not text:
        return list(Scenario)
    by_name = {s.name.lower(): s for s in Scenario}
    wanted: set[Scenario] = set()
    for raw in text.split(","):
        name = raw.strip().lower()
        if not name:
            continue
        if name in Scenario._value2member_map_:
            wanted.add(Scenario(name))
        elif name in by_name:
            wanted.add(by_name[name])
        else:
            known = ", ".join(f"{s.value} ({s.name.lower()})" for s in Scenario)
            raise ValueError(f"unknown scenario {raw!r}; choose from {known}")
    if not wanted:
        raise ValueError("name at least one scenario")
    return [s for s in Scenario if s in wanted]
