"""Another team's tests, written against elTiketi's testing kit.

Run them with ``.venv/bin/python -m pytest examples/testing_kit``. Everything
runs in memory: the real use cases, the in-memory stores (the same rules as
PostgreSQL), a fake payment gateway the test drives, a fixed clock and a
notifier that records what would have been e-mailed.
"""

from __future__ import annotations

import pytest

from eltiketi_adapters.memory import KIT_STAFF, FakePaymentGateway, InMemoryTicketing
from eltiketi_adapters.memory import RecordingNotifier as Notifier
from eltiketi_core.domain.booking import Booking, BookingStatus
from eltiketi_core.domain.events import OrderCreated
from eltiketi_core.domain.identity import Principal
from eltiketi_core.errors import AlreadyCheckedIn, PaymentIncomplete
from eltiketi_core.ports.payments import WebhookKind
from eltiketi_core.usecases import EventView, ItemRequest, ReserveRequest


async def hold(
    kit: InMemoryTicketing, who: Principal, concert: EventView, **wanted: int
) -> Booking:
    """Hold tickets by ticket-type name: ``hold(kit, alice, concert, Standing=2)``."""
    ids = {t.name: t.id for t in concert.ticket_types}
    request = ReserveRequest(
        event_id=concert.event.id,
        items=tuple(
            ItemRequest(ticket_type_id=ids[name], quantity=q) for name, q in wanted.items()
        ),
    )
    return (await kit.bookings.reserve(who, request)).booking


async def test_a_paid_booking_sends_e_tickets(
    eltiketi: InMemoryTicketing,
    eltiketi_gateway: FakePaymentGateway,
    eltiketi_notifier: Notifier,
    alice: Principal,
    concert: EventView,
) -> None:
    booking = await hold(eltiketi, alice, concert, Standing=2, VIP=1)
    assert booking.total.amount == 2 * 4500 + 12000

    payment = await eltiketi.payments.start(alice, booking.id)
    assert payment.checkout_url == f"http://127.0.0.1:8000/dev/pay/{payment.provider_reference}"
    assert payment.provider_reference is not None
    eltiketi_gateway.approve(payment.provider_reference)  # the buyer paid on the checkout page

    confirmation = await eltiketi.settlement.confirm(alice, booking.id, payment.id)
    assert confirmation.created
    assert eltiketi_notifier.tickets == []  # nothing is sent until the events are delivered

    await eltiketi.drain()  # OrderCreated → inventory (held → sold) and e-tickets

    [notice] = eltiketi_notifier.tickets
    assert notice.contact.email == "alice@example.org"
    assert notice.event.name == "Open Air"
    assert sorted(notice.ticket_types[str(t.ticket_type_id)].name for t in notice.tickets) == [
        "Standing",
        "Standing",
        "VIP",
    ]
    view = await eltiketi.catalog.get(concert.event.id)
    assert [t.available for t in view.ticket_types] == [18, 4]

    first_ticket = notice.tickets[0]
    admission = await eltiketi.checkins.check_in(KIT_STAFF, first_ticket.token, concert.event.id)
    assert admission is not None
    with pytest.raises(AlreadyCheckedIn):  # a ticket gets in once
        await eltiketi.checkins.check_in(KIT_STAFF, first_ticket.token, concert.event.id)


async def test_the_gateway_webhook_confirms_too(
    eltiketi: InMemoryTicketing,
    eltiketi_gateway: FakePaymentGateway,
    eltiketi_notifier: Notifier,
    alice: Principal,
    concert: EventView,
) -> None:
    booking = await hold(eltiketi, alice, concert, Standing=1)
    payment = await eltiketi.payments.start(alice, booking.id)
    assert payment.provider_reference is not None
    eltiketi_gateway.approve(payment.provider_reference)

    body, headers = eltiketi_gateway.signed_webhook(
        WebhookKind.PAYMENT_SUCCEEDED, payment.provider_reference, event_id="evt_1"
    )
    await eltiketi.settlement.handle_webhook("fake", body, headers)
    await eltiketi.settlement.handle_webhook("fake", body, headers)  # redelivered: no effect

    assert len(eltiketi.storage.recorded_events(OrderCreated)) == 1
    await eltiketi.drain()
    assert len(eltiketi_notifier.tickets) == 1


async def test_a_declined_card_keeps_the_hold_and_tells_the_buyer(
    eltiketi: InMemoryTicketing,
    eltiketi_gateway: FakePaymentGateway,
    eltiketi_notifier: Notifier,
    alice: Principal,
    concert: EventView,
) -> None:
    booking = await hold(eltiketi, alice, concert, VIP=2)
    payment = await eltiketi.payments.start(alice, booking.id)
    assert payment.provider_reference is not None
    eltiketi_gateway.decline(payment.provider_reference, "insufficient_funds")

    with pytest.raises(PaymentIncomplete, match="insufficient_funds"):
        await eltiketi.settlement.confirm(alice, booking.id, payment.id)
    await eltiketi.drain()

    assert [p.booking_id for p in eltiketi_notifier.payment_problems] == [str(booking.id)]
    assert (await eltiketi.bookings.get(alice, booking.id)).status is BookingStatus.HELD


async def test_an_unpaid_hold_expires_with_the_clock(
    eltiketi: InMemoryTicketing,
    alice: Principal,
    concert: EventView,
) -> None:
    booking = await hold(eltiketi, alice, concert, VIP=5)
    assert (await eltiketi.catalog.get(concert.event.id)).ticket_types[1].available == 0

    eltiketi.clock.advance(minutes=9)  # our policy: 10-minute holds
    assert await eltiketi.core.sweeper.sweep() == 0
    eltiketi.clock.advance(minutes=1)
    assert await eltiketi.core.sweeper.sweep() == 1

    assert (await eltiketi.bookings.get(alice, booking.id)).status is BookingStatus.EXPIRED
    assert (await eltiketi.catalog.get(concert.event.id)).ticket_types[1].available == 5


async def test_the_quick_way_when_the_purchase_is_only_the_setup(
    eltiketi: InMemoryTicketing, alice: Principal, concert: EventView
) -> None:
    vip = concert.ticket_types[1].id
    confirmation = await eltiketi.buy(alice, concert.event.id, {vip: 2})
    orders = await eltiketi.orders.list(alice)
    assert [o.order.id for o in orders] == [confirmation.order.id]
    assert len(orders[0].tickets) == 2
