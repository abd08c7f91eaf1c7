"""A process killed mid-load leaves no half-done reservation, and its holds expire."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from eltiketi_core.usecases.core_ports import CorePorts
from eltiketi_core.usecases.expiry import HoldSweeper
from eltiketi_core.usecases.policy import Policy
from tests.infra.ports import start_process, wait_until
from tests.integration.sqlalchemy.support import RandomIds, SteppingClock, published_event

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]


async def _scalar(db: SqlAlchemyPersistence, sql: str) -> int:
    async with db.engine.connect() as connection:
        return int(await connection.scalar(text(sql)))


async def test_sigkill_mid_load_then_every_orphan_hold_expires(
    pg: SqlAlchemyPersistence, pg_url: str
) -> None:
    event, (ticket_type,) = await published_event(pg, 5_000, shards=8)
    client = start_process(
        "load-client",
        [
            sys.executable,
            "-m",
            "tests.integration.sqlalchemy.load_client",
            pg_url,
            str(event.id),
            str(ticket_type.id),
        ],
        cwd=ROOT,
    )
    try:
        wait_until(
            lambda: "reserving" in client.stdout(), timeout=30, what="reservations", process=client
        )
        await asyncio.sleep(0.5)  # let transactions be in flight when the kill lands
        client.send_signal(signal.SIGKILL)
        client.popen.wait(timeout=10)
    finally:
        client.stop()

    # What the dead process committed is whole; what it had in flight is gone.
    held = await _scalar(pg, "SELECT sum(held) FROM inventory_shards")
    assert held > 0
    assert (
        await _scalar(
            pg,
            "SELECT count(*) FROM inventory_shards WHERE held < 0 OR sold < 0 OR held + sold > capacity",
        )
        == 0
    )
    assert await _scalar(pg, "SELECT coalesce(sum(quantity), 0) FROM booking_allocations") == held
    assert (
        await _scalar(
            pg,
            "SELECT count(*) FROM booking_allocations a"
            " LEFT JOIN bookings b ON b.id = a.booking_id WHERE b.id IS NULL",
        )
        == 0
    )
    assert (
        await _scalar(
            pg,
            "SELECT coalesce(sum(i.quantity), 0) FROM booking_items i"
            " JOIN bookings b ON b.id = i.booking_id WHERE b.status = 'held'",
        )
        == held
    )

    # A restarted sweeper, once the holds' TTL has passed, gives every ticket back.
    later = SteppingClock(datetime.now(UTC) + Policy().hold_ttl + timedelta(seconds=1))
    released = await HoldSweeper(CorePorts(pg.uow_factory(), later, RandomIds()), Policy()).sweep()
    assert released == await _scalar(pg, "SELECT count(*) FROM bookings")
    assert await _scalar(pg, "SELECT sum(held) FROM inventory_shards") == 0
    assert await _scalar(pg, "SELECT count(*) FROM booking_allocations") == 0
    assert await _scalar(pg, "SELECT count(*) FROM bookings WHERE status <> 'expired'") == 0
