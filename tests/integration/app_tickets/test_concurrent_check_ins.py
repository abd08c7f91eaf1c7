"""Fifty scanners, one ticket: exactly one admission, whatever the interleaving.

The requests really overlap: the app runs on the test's event loop behind an ASGI
transport, and on PostgreSQL each request has its own pooled connection.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.integration.app_tickets.support import (
    App,
    Headers,
    instant,
    problem,
    running_app,
    settings_from,
)

SCANS = 50


async def _scan_together(
    scanners: list[tuple[App, Headers]], token: str, event_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every scanner scans ``token`` at once; returns (the admission, the refusals)."""
    start = asyncio.Event()

    async def scan(app: App, staff: Headers) -> tuple[int, dict[str, Any]]:
        await start.wait()
        answer = await app.check_in(staff, token, event_id)
        return answer.status_code, answer.json()

    tasks = [asyncio.create_task(scan(app, staff)) for app, staff in scanners]
    await asyncio.sleep(0)
    start.set()
    results = await asyncio.gather(*tasks)
    admitted = [body for status, body in results if status == 200]
    refused = [body for status, body in results if status != 200]
    assert len(admitted) == 1, [status for status, _ in results]
    assert {(b["status"], b["code"]) for b in refused} == {(409, "already_checked_in")}
    first = instant(admitted[0]["checked_in_at"])
    assert {instant(b["first_checked_in_at"]) for b in refused} == {first}
    return admitted[0], refused


async def _check_in_rows(pg_url: str, ticket_id: str) -> int:
    url = make_url(pg_url)
    connection = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database
    )
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM check_ins WHERE ticket_id = $1", UUID(ticket_id)
        )
    finally:
        await connection.close()
    return count


@pytest.mark.postgres
async def test_fifty_concurrent_scans_of_one_token_admit_once_on_postgres(
    tmp_path: Path, tickets_pg_url: str, ticket_keys: str
) -> None:
    shared = {"database_url": tickets_pg_url, "ticket_keys": ticket_keys}
    async with (
        running_app(settings_from(tmp_path / "a", **shared)) as a,
        running_app(settings_from(tmp_path / "b", **shared)) as b,
    ):
        event_id, standing = await a.sale(await a.auth("olga", "organizer"))
        buyer = await a.auth("alice", email="alice@example.test")
        order = await a.buy(buyer, event_id, standing, 2)
        one, other = order["tickets"]
        staff_a, staff_b = await a.door(event_id), await b.door(event_id)

        # Fifty doors of one replica.
        admitted, _ = await _scan_together([(a, staff_a)] * SCANS, one["token"], event_id)
        assert admitted["ticket_id"] == one["id"]
        assert await _check_in_rows(tickets_pg_url, one["id"]) == 1

        # Fifty doors split over two replicas sharing keys and database.
        scanners = [(a, staff_a), (b, staff_b)] * (SCANS // 2)
        admitted, _ = await _scan_together(scanners, other["token"], event_id)
        assert admitted["ticket_id"] == other["id"]
        assert await _check_in_rows(tickets_pg_url, other["id"]) == 1

        # Later scans still see the first one.
        late = await b.check_in(staff_b, one["token"], event_id)
        problem(late, 409, "already_checked_in")


async def test_fifty_concurrent_scans_of_one_token_admit_once_on_embedded_sqlite(
    tmp_path: Path,
) -> None:
    async with running_app(settings_from(tmp_path)) as app:
        event_id, standing = await app.sale(await app.auth("olga", "organizer"))
        order = await app.buy(
            await app.auth("alice", email="alice@example.test"), event_id, standing
        )
        staff = await app.door(event_id)
        (ticket,) = order["tickets"]
        admitted, _ = await _scan_together([(app, staff)] * SCANS, ticket["token"], event_id)
        assert admitted["ticket_id"] == ticket["id"]
