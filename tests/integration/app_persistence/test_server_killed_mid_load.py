"""``eltiketi serve`` on PostgreSQL, SIGKILLed while buyers are reserving, then restarted.

The server is the real command in its own process, configured only by ``ELTIKETI_*``
(embedded mode, so dev tokens and the fake gateway exist, with a 3 s hold TTL and a 1 s
sweep, and the re-hold cool-down and rate limits off: the clients are a load generator). Thirty-two clients hold and release tickets on a plain and a sharded ticket type
until the kill lands with requests in flight. Then, by SQL: the counters never exceed
capacity, and what committed is whole (counters = allocations = items of held bookings;
every 201 a client saw is a row). After the restart every orphan hold expires within the
TTL plus a sweep, and the stock is whole again.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.infra.ports import ComponentProcess, free_port, start_process
from tests.integration.app_tickets.support import Headers, Shop, environment, expect
from tests.integration.sqlalchemy.database import fresh_postgres_database

pytestmark = [pytest.mark.postgres, pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
HOLD_TTL_SECONDS = 3
SWEEP_INTERVAL_SECONDS = 1
CAPACITY = 30
CLIENTS = 32
KILL_AFTER_HOLDS = 60
KILL_AFTER_SECONDS = 5.0


@contextlib.contextmanager
def serving(data_dir: Path, database_url: str) -> Iterator[tuple[ComponentProcess, str]]:
    """Run ``eltiketi serve`` on a free port; stopped (if still alive) when the block ends."""
    port = free_port()
    env = environment(
        {},
        data_dir=str(data_dir),
        database_url=database_url,
        hold_ttl_seconds=HOLD_TTL_SECONDS,
        sweep_interval_seconds=SWEEP_INTERVAL_SECONDS,
        log_format="console",
        log_level="WARNING",
        # The clients churn holds as fast as they can, from one address: a load
        # generator, which the abuse limits are there to stop.
        rehold_limit=0,
        rate_limit_enabled="false",
    )
    process = start_process(
        "eltiketi-serve",
        [sys.executable, "-m", "eltiketi_app.cli", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
    )
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        process.stop()


async def wait_ready(process: ComponentProcess, base_url: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
        while True:
            assert process.returncode is None, f"serve exited early\n{process.output()}"
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/health/ready")).status_code == 200:
                    return
            assert time.monotonic() < deadline, f"serve not ready in {within}s\n{process.output()}"
            await asyncio.sleep(0.1)


class Database:
    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self._args = {
            "host": parsed.host,
            "port": parsed.port,
            "user": parsed.username,
            "database": parsed.database,
        }

    async def rows(self, query: str, *args: Any) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(**self._args)
        try:
            return list(await connection.fetch(query, *args))
        finally:
            await connection.close()

    async def value(self, query: str, *args: Any) -> int:
        rows = await self.rows(query, *args)
        return int(rows[0][0] or 0)


async def check_whole(db: Database) -> int:
    """Every invariant of committed state; returns the tickets held in total."""
    assert (
        await db.value(
            "SELECT count(*) FROM inventory_shards"
            " WHERE held < 0 OR sold < 0 OR held + sold > capacity"
        )
        == 0
    )
    per_type = await db.rows(
        "SELECT t.id, t.capacity, sum(s.held) AS held, sum(s.sold) AS sold,"
        " (SELECT coalesce(sum(a.quantity), 0) FROM booking_allocations a"
        "   WHERE a.ticket_type_id = t.id AND a.state = 'held') AS allocated,"
        " (SELECT coalesce(sum(i.quantity), 0) FROM booking_items i"
        "   JOIN bookings b ON b.id = i.booking_id"
        "   WHERE i.ticket_type_id = t.id AND b.status = 'held') AS in_held_bookings"
        " FROM ticket_types t JOIN inventory_shards s ON s.ticket_type_id = t.id"
        " GROUP BY t.id, t.capacity"
    )
    assert len(per_type) == 2
    for row in per_type:
        assert row["held"] + row["sold"] <= row["capacity"], dict(row)
        assert row["held"] == row["allocated"] == row["in_held_bookings"], dict(row)
    return sum(int(row["held"]) for row in per_type)


async def test_a_server_killed_mid_load_restarts_whole_and_releases_orphan_holds(
    tmp_path: Path,
) -> None:
    async with fresh_postgres_database("app_crash", migrate=False) as url:
        db = Database(url)
        with serving(tmp_path, url) as (server, base_url):
            await wait_ready(server, base_url)
            async with httpx.AsyncClient(
                base_url=base_url,
                timeout=15,
                limits=httpx.Limits(max_connections=CLIENTS + 8),
            ) as client:
                shop = Shop(client)
                organizer = await shop.auth("olga", "organizer")
                event_id, plain = await shop.sale(organizer, capacity=CAPACITY, max_per_booking=3)
                sharded = expect(
                    await client.post(
                        f"/v1/events/{event_id}/ticket-types",
                        json={
                            "name": "Sharded",
                            "price": {"amount": 3000, "currency": "EUR"},
                            "capacity": CAPACITY,
                            "max_per_booking": 3,
                            "shards": 4,
                        },
                        headers=organizer,
                    ),
                    201,
                ).json()["id"]
                buyers = await asyncio.gather(
                    *(
                        shop.auth(f"crash-buyer-{n}", email=f"crash-buyer-{n}@example.com")
                        for n in range(CLIENTS)
                    )
                )
                statuses, answered_holds = await _load_then_kill(
                    shop, server, event_id, (plain, sharded), buyers
                )
        assert statuses[201] >= 10, statuses
        assert statuses["transport error"] > 0, statuses  # the kill landed mid-request

        # Committed state is whole, and every hold a client was told about is stored.
        held = await check_whole(db)
        assert held > 0, "the kill should leave holds behind for the restart to expire"
        stored = {str(r["id"]) for r in await db.rows("SELECT id FROM bookings")}
        assert answered_holds <= stored
        orphans = {
            str(r["id"]) for r in await db.rows("SELECT id FROM bookings WHERE status = 'held'")
        }
        assert orphans

        with serving(tmp_path, url) as (server, base_url):
            await wait_ready(server, base_url)
            deadline = time.monotonic() + HOLD_TTL_SECONDS + SWEEP_INTERVAL_SECONDS + 15
            while await db.value("SELECT count(*) FROM bookings WHERE status = 'held'"):
                assert time.monotonic() < deadline, "orphan holds were not released"
                await asyncio.sleep(0.2)
            assert await check_whole(db) == 0
            statuses_after = await db.rows(
                "SELECT id, status FROM bookings WHERE id = ANY($1::uuid[])", list(orphans)
            )
            assert {r["status"] for r in statuses_after} == {"expired"}
            assert await db.value("SELECT count(*) FROM booking_allocations") == 0

            async with httpx.AsyncClient(base_url=base_url, timeout=15) as client:
                # Same data folder: tokens from before the kill are still good.
                shop = Shop(client)
                public = expect(await client.get(f"/v1/events/{event_id}"), 200).json()
                assert {t["available"] for t in public["ticket_types"]} == {CAPACITY}
                again = await shop.hold(buyers[0], event_id, sharded, 3)
                expect(again, 201)
                assert await check_whole(db) == 3


async def _load_then_kill(
    shop: Shop,
    server: ComponentProcess,
    event_id: str,
    ticket_types: tuple[str, str],
    buyers: list[Headers],
) -> tuple[Counter[int | str], set[str]]:
    statuses: Counter[int | str] = Counter()
    holds: set[str] = set()
    server_errors: list[str] = []
    stop = asyncio.Event()
    rng = random.Random(3)

    async def client_loop(buyer: Headers) -> None:
        mine: list[str] = []
        while not stop.is_set():
            try:
                if mine and (len(mine) >= 3 or rng.random() < 0.2):
                    answer = await shop.client.delete(f"/v1/bookings/{mine.pop(0)}", headers=buyer)
                else:
                    answer = await shop.hold(
                        buyer, event_id, rng.choice(ticket_types), rng.randint(1, 3)
                    )
                    if answer.status_code == 201:
                        mine.append(answer.json()["id"])
                        holds.add(answer.json()["id"])
            except httpx.TransportError:
                statuses["transport error"] += 1
                return
            statuses[answer.status_code] += 1
            if answer.status_code >= 500:
                server_errors.append(answer.text)

    clients = [asyncio.create_task(client_loop(buyer)) for buyer in buyers]
    started = time.monotonic()
    while statuses[201] < KILL_AFTER_HOLDS and time.monotonic() - started < KILL_AFTER_SECONDS:
        assert not any(c.done() for c in clients), [c.exception() for c in clients if c.done()]
        await asyncio.sleep(0.01)
    server.send_signal(signal.SIGKILL)
    server.popen.wait(timeout=10)
    stop.set()
    await asyncio.gather(*clients)
    assert not server_errors, server_errors[:3]
    return statuses, holds
