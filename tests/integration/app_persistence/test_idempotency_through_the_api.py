"""``Idempotency-Key`` retried concurrently through the API, against PostgreSQL: one booking.

Two app instances (one installation: same data folder, same database) take the retries at
once, as replicas behind a load balancer would. Each answer is the first booking (201,
replayed or not) or ``409 idempotency_in_flight``; only one booking exists afterwards.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from uuid import UUID

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.integration.app_tickets.support import (
    App,
    Headers,
    expect,
    problem,
    running_app,
    settings_from,
)

pytestmark = pytest.mark.postgres

RETRIES = 24


async def _sql(pg_url: str, query: str, *args: object) -> int:
    url = make_url(pg_url)
    connection = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database
    )
    try:
        return int(await connection.fetchval(query, *args) or 0)
    finally:
        await connection.close()


async def test_concurrent_retries_of_one_key_make_one_booking(
    tmp_path: Path, persistence_pg_url: str
) -> None:
    settings = settings_from(tmp_path, database_url=persistence_pg_url)
    async with running_app(settings) as a, running_app(settings) as b:
        organizer = await a.auth("olga", "organizer")
        event_id, standing = await a.sale(organizer, capacity=50)
        buyer = await a.auth("idem-alice", email="alice@example.test")
        start = asyncio.Event()

        async def attempt(app: App, who: Headers) -> tuple[int, dict[str, str], bool]:
            await start.wait()
            answer = await app.hold(who, event_id, standing, 2, idempotency_key="checkout-1")
            replayed = answer.headers.get("idempotent-replayed") == "true"
            return answer.status_code, answer.json(), replayed

        tasks = [asyncio.create_task(attempt((a, b)[n % 2], buyer)) for n in range(RETRIES)]
        await asyncio.sleep(0)
        start.set()
        results = await asyncio.gather(*tasks)

        created = [(body, replayed) for status, body, replayed in results if status == 201]
        refused = [body for status, body, _ in results if status != 201]
        assert created, results
        assert len({body["id"] for body, _ in created}) == 1, created
        assert sum(1 for _, replayed in created if not replayed) == 1, created
        assert {(r["status"], r["code"]) for r in refused} <= {(409, "idempotency_in_flight")}
        booking_id = created[0][0]["id"]
        assert all(body == created[0][0] for body, _ in created)

        assert (
            await _sql(
                persistence_pg_url, "SELECT count(*) FROM bookings WHERE buyer = $1", "idem-alice"
            )
            == 1
        )
        level = (await a.stock(organizer, event_id))[standing]
        assert (level["held"], level["available"]) == (2, 48)

        # Later retries, on either replica, replay the same booking.
        for app in (a, b):
            again = expect(
                await app.hold(buyer, event_id, standing, 2, idempotency_key="checkout-1"), 201
            )
            assert again.json()["id"] == booking_id
            assert again.headers["idempotent-replayed"] == "true"
        # The same key with another body is a client bug; another user's key is their own.
        problem(
            await b.hold(buyer, event_id, standing, 3, idempotency_key="checkout-1"),
            422,
            "idempotency_key_reused",
        )
        bob = await a.auth("idem-bob", email="bob@example.test")
        theirs = expect(await b.hold(bob, event_id, standing, 2, idempotency_key="checkout-1"), 201)
        assert UUID(theirs.json()["id"]) != UUID(booking_id)
        level = (await a.stock(organizer, event_id))[standing]
        assert level["held"] == 4
