"""The raw baseline: the adapter's own SQL, driven straight through asyncpg.

The statements are not written here: they are *captured* from the SQL
adapter (``SqlAlchemyPersistence``) while it reserves one ticket or reads one
event inside a transaction that is then rolled back. What the baseline sends
is therefore exactly what the adapter sends — the reservation as one statement
(conditional ``UPDATE`` + allocation ``INSERT``; for a sharded type the
``SKIP LOCKED`` pick) — minus everything around it: no HTTP, no token, no
``BEGIN``/``COMMIT`` round trips, no event lookup, no booking row, no outbox.
That is the ceiling any Python service on this machine could reach.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from eltiketi_app.bench.services import cpu_seconds
from eltiketi_app.bench.stats import Latency, summarize

MAX_SEEDS = 32
RAW_APPLICATION_NAME = "eltiketi-bench-raw"


class Statement(msgspec.Struct, frozen=True):
    sql: str
    params: tuple[Any, ...]


class ReservationSql(msgspec.Struct, frozen=True, kw_only=True):
    """The adapter's reservation statement and where its varying parameters sit."""

    statement: Statement
    booking_index: int
    rotation_index: int | None
    """Sharded types: the parameter holding ``shards - start`` (the random first shard)."""
    shards: int


class RawResult(msgspec.Struct, kw_only=True):
    ok: int
    attempts: int
    elapsed_s: float
    ok_window_s: float
    latency: Latency
    concurrency: int
    pool: int
    postgres_cpu_s: float = 0.0
    """CPU time of the pool's PostgreSQL backends during the run."""

    @property
    def per_s(self) -> float:
        window = self.ok_window_s or self.elapsed_s
        return self.ok / window if window > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "per_s": round(self.per_s, 1),
            "ok": self.ok,
            "attempts": self.attempts,
            "elapsed_s": self.elapsed_s,
            "concurrency": self.concurrency,
            "pool": self.pool,
            "p50_ms": self.latency.p50_ms,
            "p99_ms": self.latency.p99_ms,
            "postgres_cpu_ms_per_op": round(self.postgres_cpu_s * 1000 / max(self.ok, 1), 3),
        }


async def _capture(sqlalchemy_url: str, seed: int, work: Callable[[Any], Any]) -> list[Statement]:
    """Run ``work(uow)`` in a unit of work that is rolled back; return what it sent."""
    from sqlalchemy import event

    from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence

    captured: list[Statement] = []
    db = SqlAlchemyPersistence(sqlalchemy_url, pool_size=1, max_overflow=0, seed=seed)

    def record(_conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        captured.append(Statement(sql, tuple(params or ())))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with db.unit_of_work() as uow:  # never committed: rolled back on exit
            await work(uow)
    finally:
        await db.close()
    return captured


async def capture_reservation(
    sqlalchemy_url: str, ticket_type_id: UUID, shards: int
) -> ReservationSql:
    """The statement the adapter uses to hold one ticket of ``ticket_type_id``."""
    seen: list[tuple[str, Statement]] = []
    for seed in range(1, MAX_SEEDS + 1):
        booking_id = uuid.uuid4()

        async def reserve(uow: Any, booking_id: UUID = booking_id) -> None:
            if not await uow.inventory.reserve(booking_id, ticket_type_id, 1):
                raise RuntimeError("the capture reservation was refused: no stock to capture with")

        statements = await _capture(sqlalchemy_url, seed, reserve)
        taking = [s for s in statements if "booking_allocations" in s.sql]
        if len(taking) != 1:
            raise RuntimeError(f"expected one reservation statement, saw {len(taking)}")
        seen.append((str(booking_id), taking[0]))
        if shards == 1:
            break
        if len(seen) > 1 and (rotation := _rotation_index(seen)) is not None:
            break
    else:
        raise RuntimeError("could not find the shard rotation parameter")
    booking_text, statement = seen[0]
    booking_index = [str(p) for p in statement.params].index(booking_text)
    return ReservationSql(
        statement=statement,
        booking_index=booking_index,
        rotation_index=None if shards == 1 else rotation,
        shards=shards,
    )


def _rotation_index(seen: list[tuple[str, Statement]]) -> int | None:
    """The parameter that differs between two captures other than the booking id."""
    (first_id, first), (second_id, second) = seen[0], seen[-1]
    for index, (a, b) in enumerate(zip(first.params, second.params, strict=True)):
        if str(a) in (first_id,) or str(b) in (second_id,):
            continue
        if a != b:
            return index
    return None


async def capture_event_read(sqlalchemy_url: str, event_id: UUID) -> list[Statement]:
    """The SELECTs the adapter runs for ``GET /v1/events/{id}`` (event, types, levels)."""

    async def read(uow: Any) -> None:
        await uow.catalog.get_event(event_id)
        types = await uow.catalog.ticket_types(event_id)
        await uow.inventory.levels([t.id for t in types])

    statements = await _capture(sqlalchemy_url, 1, read)
    return [s for s in statements if s.sql.lstrip().upper().startswith("SELECT")]


class _Clock:
    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.started = time.perf_counter()
        self.deadline = self.started + limit
        self.last_ok = self.started
        self.ok = 0
        self.attempts = 0
        self.latencies: list[float] = []

    def accepted(self, began: float) -> None:
        now = time.perf_counter()
        self.ok += 1
        self.latencies.append(now - began)
        self.last_ok = now


async def drive_reservations(
    url: str,
    reservation: ReservationSql,
    *,
    concurrency: int,
    pool_size: int,
    duration_s: float | None = None,
    max_seconds: float = 600.0,
) -> RawResult:
    """Closed loop of ``concurrency`` tasks on a pool of ``pool_size``.

    Without ``duration_s`` it runs until sold out: a hot-row statement that
    takes nothing (it waited for the row, then found too little) is
    definitive; a sharded pick that found every shard with stock locked is
    tried again with another random start, as the adapter would go on to its
    deciding step.
    """
    sql, base = reservation.statement.sql, list(reservation.statement.params)
    rng = random.Random()
    clock = _Clock(duration_s if duration_s is not None else max_seconds)

    async def buyer(pool: asyncpg.Pool) -> None:
        while time.perf_counter() < clock.deadline:
            params = list(base)
            params[reservation.booking_index] = str(uuid.uuid4())
            if reservation.rotation_index is not None:
                params[reservation.rotation_index] = reservation.shards - rng.randrange(
                    reservation.shards
                )
            began = time.perf_counter()
            row = await pool.fetchrow(sql, *params)
            clock.attempts += 1
            taken = row is not None and row[0] is not None
            if taken:
                clock.accepted(began)
                continue
            committed_left = row[1] if row is not None and len(row) > 1 else 0
            if committed_left < 1 and duration_s is None:
                return  # sold out

    return await _run(url, buyer, concurrency=concurrency, pool_size=pool_size, clock=clock)


async def drive_reads(
    url: str,
    statements: Sequence[Statement],
    *,
    concurrency: int,
    pool_size: int,
    duration_s: float,
) -> RawResult:
    """Closed loop: each iteration runs the read's SELECTs on one pooled connection."""
    clock = _Clock(duration_s)

    async def reader(pool: asyncpg.Pool) -> None:
        while time.perf_counter() < clock.deadline:
            began = time.perf_counter()
            clock.attempts += 1
            async with pool.acquire() as connection:
                for statement in statements:
                    await connection.fetch(statement.sql, *statement.params)
            clock.accepted(began)

    return await _run(url, reader, concurrency=concurrency, pool_size=pool_size, clock=clock)


async def _open_pool(url: str, size: int, attempts: int = 5) -> asyncpg.Pool:
    """A pool with every connection open before the clock starts.

    The server is shared (other test suites run on it): if it is momentarily
    full, wait a little and try again rather than fail the scenario.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await asyncpg.create_pool(
                url,
                min_size=size,
                max_size=size,
                server_settings={"application_name": RAW_APPLICATION_NAME},
            )
        except asyncpg.TooManyConnectionsError:
            if attempt == attempts:
                raise
            await asyncio.sleep(attempt)
    raise AssertionError("unreachable")


async def _run(
    url: str,
    task: Callable[[asyncpg.Pool], Any],
    *,
    concurrency: int,
    pool_size: int,
    clock: _Clock,
) -> RawResult:
    pool = await _open_pool(url, pool_size)
    try:
        backends = [
            int(r["pid"])
            for r in await pool.fetch(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND application_name = $1",
                RAW_APPLICATION_NAME,
            )
        ]
        cpu_before = sum(cpu_seconds(pid) for pid in backends)
        clock.started = time.perf_counter()  # the pool is open: the clock starts now
        clock.deadline = clock.started + clock.limit
        clock.last_ok = clock.started
        await asyncio.gather(*(task(pool) for _ in range(concurrency)))
        finished = time.perf_counter()
        backend_cpu = sum(cpu_seconds(pid) for pid in backends) - cpu_before
    finally:
        await pool.close()
    return RawResult(
        ok=clock.ok,
        attempts=clock.attempts,
        elapsed_s=round(finished - clock.started, 4),
        ok_window_s=round(clock.last_ok - clock.started, 4),
        latency=summarize(clock.latencies),
        concurrency=concurrency,
        pool=pool_size,
        postgres_cpu_s=round(backend_cpu, 2),
    )
