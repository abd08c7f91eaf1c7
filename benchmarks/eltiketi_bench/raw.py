"""The raw baseline: the adapter's own SQL, driven straight through asyncpg.

The statements are not written here: the SQL adapter hands them out
(:func:`~eltiketi_adapters.sqlalchemy.reservation_sql`,
:func:`~eltiketi_adapters.sqlalchemy.event_read_sql`), compiled from the
statement objects its stores execute. What the baseline sends is therefore
exactly what the adapter sends — the reservation as one statement
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

from eltiketi_adapters.sqlalchemy import PositionalSql, reservation_sql
from eltiketi_bench.services import cpu_seconds
from eltiketi_bench.stats import Latency, summarize

RAW_APPLICATION_NAME = "eltiketi-bench-raw"


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
    ticket_type_id: UUID,
    shards: int,
    *,
    concurrency: int,
    pool_size: int,
    duration_s: float | None = None,
    max_seconds: float = 600.0,
) -> RawResult:
    """Closed loop of ``concurrency`` tasks on a pool of ``pool_size``, each holding one
    ticket of ``ticket_type_id`` at a time with the adapter's reservation statement.

    Without ``duration_s`` it runs until sold out: a hot-row statement that
    takes nothing (it waited for the row, then found too little) is
    definitive; a sharded pick that found every shard with stock locked is
    tried again with another random start, as the adapter would go on to its
    deciding step.
    """
    statement = reservation_sql(sharded=shards > 1)
    fixed: dict[str, Any] = {"p_type_id": ticket_type_id, "p_quantity": 1}
    if shards == 1:
        fixed["p_shard_no"] = 0
    else:
        fixed["p_shards"] = shards
    rng = random.Random()
    clock = _Clock(duration_s if duration_s is not None else max_seconds)

    async def buyer(pool: asyncpg.Pool) -> None:
        while time.perf_counter() < clock.deadline:
            varying: dict[str, Any] = {"p_booking_id": uuid.uuid4()}
            if shards > 1:
                varying["p_start"] = rng.randrange(shards)
            arguments = statement.arguments(**fixed, **varying)
            began = time.perf_counter()
            row = await pool.fetchrow(statement.text, *arguments)
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
    statements: Sequence[PositionalSql],
    *,
    concurrency: int,
    pool_size: int,
    duration_s: float,
) -> RawResult:
    """Closed loop: each iteration runs the read's SELECTs on one pooled connection."""
    clock = _Clock(duration_s)
    prepared = [(statement.text, statement.arguments()) for statement in statements]

    async def reader(pool: asyncpg.Pool) -> None:
        while time.perf_counter() < clock.deadline:
            began = time.perf_counter()
            clock.attempts += 1
            async with pool.acquire() as connection:
                for text, arguments in prepared:
                    await connection.fetch(text, *arguments)
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
