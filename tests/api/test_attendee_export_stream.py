"""``GET /v1/events/{id}/attendees.csv`` streams: the response goes out a page at a time,
so exporting 20,000 tickets takes the memory of 2,000.

The test client gathers a whole body before it answers, so the app is driven
through ASGI directly here, with a ``send`` that counts the body and drops it, as
a socket would; allocations are measured with ``tracemalloc`` meanwhile.
"""

from __future__ import annotations

import asyncio
import tracemalloc
from pathlib import Path
from typing import Any

from eltiketi_app.ioc.types import Persistence
from eltiketi_core.domain.booking import BookingStatus
from eltiketi_core.domain.payment import PaymentStatus
from tests.api.conftest import Api, embedded_settings, running_app
from tests.contract.builders import (
    new_booking,
    new_event,
    new_order,
    new_payment,
    new_ticket_type,
    new_tickets,
    store_event,
)

PER_ORDER = 10


async def _seed(persistence: Persistence, owner: str, tickets: int) -> str:
    event = new_event(owner=owner)
    ticket_type = new_ticket_type(event, capacity=tickets)
    async with persistence.uow() as uow:
        await store_event(uow, event)  # its organization too, owned by ``owner``
        await uow.catalog.add_ticket_type(ticket_type)
        for n in range(tickets // PER_ORDER):
            booking = new_booking(
                event, [(ticket_type, PER_ORDER)], buyer=f"g{n}", status=BookingStatus.CONFIRMED
            )
            payment = new_payment(booking, status=PaymentStatus.SUCCEEDED)
            order = new_order(booking, payment)
            await uow.bookings.add(booking)
            await uow.payments.add(payment)
            await uow.orders.add(order)
            await uow.tickets.add_many(new_tickets(order))
        await uow.commit()
    return str(event.id)


async def _download(app: Any, path: str, token: str) -> tuple[int, int, int, int]:
    """(status, body chunks, body bytes, peak bytes allocated meanwhile)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"authorization", token.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    seen = {"status": 0, "chunks": 0, "bytes": 0}
    requested = False
    finished = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:  # the request, then nothing until the client leaves (as a server)
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            seen["status"] = message["status"]
        elif message["type"] == "http.response.body":
            if message.get("body"):
                seen["chunks"] += 1
                seen["bytes"] += len(message["body"])
            if not message.get("more_body", False):
                finished.set()

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        await app(scope, receive, send)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return seen["status"], seen["chunks"], seen["bytes"], peak


async def _export(tmp_path: Path, tickets: int) -> tuple[int, int, int, int]:
    async with running_app(embedded_settings(tmp_path), []) as api:
        olga = api.auth("olga", "organizer")
        persistence = await api.get(Persistence)
        event_id = await api.in_app(lambda: _seed(persistence, "olga", tickets))
        path = f"/v1/events/{event_id}/attendees.csv"
        return await _in_app_download(api, path, olga["Authorization"])


async def _in_app_download(api: Api, path: str, token: str) -> tuple[int, int, int, int]:
    return await api.in_app(lambda: _download(api.app, path, token))


async def test_twenty_thousand_attendees_stream_in_the_memory_of_two_thousand(
    tmp_path: Path,
) -> None:
    small = await _export(tmp_path / "small", 2_000)
    big = await _export(tmp_path / "big", 20_000)
    (small_status, small_chunks, _, small_peak) = small
    (big_status, big_chunks, big_bytes, big_peak) = big
    assert (small_status, big_status) == (200, 200)
    assert big_bytes > 2_500_000  # ~145 bytes a row
    # Flat: ten times the rows, not ten times the memory (a page's worth of slack) …
    assert big_peak < small_peak * 1.5 + 256 * 1024, (small_peak, big_peak)
    assert big_peak < big_bytes / 2, (big_peak, big_bytes)
    # … because the body leaves as it is read: a header, then a chunk per page.
    assert big_chunks > small_chunks > 2
