"""The attendee export holds one page at a time: 20,000 rows cost what 2,000 do."""

from __future__ import annotations

import tracemalloc

from eltiketi_adapters.memory import MemoryStorage, memory_uow_factory
from eltiketi_core.domain.booking import BookingStatus
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.payment import PaymentStatus
from eltiketi_core.usecases.attendees import EXPORT_PAGE, Attendees
from tests.contract.builders import (
    new_booking,
    new_event,
    new_order,
    new_payment,
    new_ticket_type,
    new_tickets,
    store_event,
)

OWNER = Principal(subject="olga", roles=frozenset({"organizer"}))
TICKETS_PER_ORDER = 10


async def seeded(tickets: int) -> tuple[Attendees, object]:
    """An in-memory store with one event of ``tickets`` sold tickets (10 per order)."""
    uow_factory = memory_uow_factory(MemoryStorage())
    event = new_event(owner=OWNER.subject)
    ticket_type = new_ticket_type(event, capacity=tickets)
    async with uow_factory() as uow:
        await store_event(uow, event)
        await uow.catalog.add_ticket_type(ticket_type)
        for n in range(tickets // TICKETS_PER_ORDER):
            booking = new_booking(
                event,
                [(ticket_type, TICKETS_PER_ORDER)],
                buyer=f"guest{n}",
                status=BookingStatus.CONFIRMED,
            )
            payment = new_payment(booking, status=PaymentStatus.SUCCEEDED)
            order = new_order(booking, payment)
            await uow.bookings.add(booking)
            await uow.payments.add(payment)
            await uow.orders.add(order)
            await uow.tickets.add_many(new_tickets(order))
        await uow.commit()
    return Attendees(uow_factory), event.id


async def export_peak(tickets: int) -> tuple[int, int, int]:
    """(peak bytes allocated while exporting, rows, bytes written)."""
    attendees, event_id = await seeded(tickets)
    export = await attendees.export(OWNER, event_id)  # type: ignore[arg-type]
    rows = written = 0
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        async for chunk in export.chunks():
            rows += chunk.count(b"\r\n")
            written += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, rows - 1, written


async def test_exporting_twenty_thousand_rows_takes_the_memory_of_two_thousand() -> None:
    small_peak, small_rows, _ = await export_peak(2_000)
    big_peak, big_rows, big_bytes = await export_peak(20_000)
    assert (small_rows, big_rows) == (2_000, 20_000)
    assert small_rows > EXPORT_PAGE  # both walk several pages
    # Flat: ten times the rows, not ten times the memory (a page's worth of slack).
    assert big_peak < small_peak * 1.5 + 256 * 1024, (small_peak, big_peak)
    assert big_peak < big_bytes / 2, (big_peak, big_bytes)  # well below the whole file
