"""What goes in comes out: every field of every record, on every backend.

The objects come from the testing kit's factories (random but valid values:
several currencies, real timezones, contacts, several items), then get the
awkward values a store must not lose: instants in non-UTC zones and with
microseconds, large amounts, a contact with only a phone, optional fields set
and unset.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import msgspec
import pytest

from eltiketi_adapters.memory import HmacTicketSigner
from eltiketi_adapters.memory.factories import (
    BookingFactory,
    EventFactory,
    OrderFactory,
    PaymentFactory,
    TicketFactory,
    TicketTypeFactory,
)
from eltiketi_core.domain.booking import Booking, BookingItem, Contact
from eltiketi_core.domain.catalog import Event, EventStatus, TicketType
from eltiketi_core.domain.events import (
    BookingCancelled,
    BookingCreated,
    BookingExpired,
    DomainEvent,
    EventCancelled,
    OrderCreated,
    OrderRefunded,
    PaymentFailed,
    PaymentStarted,
    RefundCompleted,
    RefundRequested,
)
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.order import CheckIn, Order, StockState, Ticket
from eltiketi_core.domain.payment import Payment, PaymentStatus, Refund, RefundReason, RefundStatus
from eltiketi_core.ports.stores import IdempotencyRecord, NotificationRecord, NotificationStatus
from eltiketi_core.ports.uow import UnitOfWorkFactory
from tests.contract.builders import store_event

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
#: An instant in a zone with a non-zero offset, with microseconds.
ODD_INSTANT = datetime(2030, 7, 14, 20, 30, 15, 123456, tzinfo=NEW_YORK)


def same_instants(stored: datetime, given: datetime) -> None:
    assert stored.tzinfo is not None
    assert stored.utcoffset() is not None
    assert stored == given
    assert stored.astimezone(UTC) == given.astimezone(UTC)


async def stored_graph(
    uow_factory: UnitOfWorkFactory,
    *,
    event: Event | None = None,
    contact: Contact | None = None,
    currency: str = "EUR",
) -> tuple[Event, list[TicketType], Booking, Payment, Order]:
    """An event with two ticket types, a booking of both, its payment and its order."""
    event = event or EventFactory.published(currency=currency)
    types = [
        TicketTypeFactory.for_event(event, capacity=50),
        TicketTypeFactory.for_event(event, capacity=50, shards=4),
    ]
    booking = BookingFactory.for_ticket_types(
        types, 2, **({"contact": contact} if contact is not None else {})
    )
    payment = PaymentFactory.for_booking(booking, status=PaymentStatus.SUCCEEDED)
    order = OrderFactory.for_booking(booking, payment)
    async with uow_factory() as uow:
        await store_event(uow, event)
        for ticket_type in types:
            await uow.catalog.add_ticket_type(ticket_type)
        await uow.bookings.add(booking)
        assert await uow.payments.add(payment)
        assert await uow.orders.add(order)
        await uow.commit()
    return event, types, booking, payment, order


# -- catalogue and holds ----------------------------------------------------------------------


async def test_factory_built_records_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    event, types, booking, payment, order = await stored_graph(uow_factory)
    tickets = TicketFactory.for_order(order, signer=HmacTicketSigner())
    async with uow_factory() as uow:
        await uow.tickets.add_many(tickets)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.catalog.get_event(event.id) == event
        assert await uow.catalog.ticket_types(event.id) == types
        assert await uow.bookings.get(booking.id) == booking
        assert await uow.payments.get(payment.id) == payment
        assert await uow.orders.get(order.id) == order
        assert sorted(await uow.tickets.for_order(order.id), key=lambda t: t.id) == sorted(
            tickets, key=lambda t: t.id
        )


@pytest.mark.parametrize("currency", ["EUR", "JPY", "CHF"])
async def test_an_event_keeps_every_field(uow_factory: UnitOfWorkFactory, currency: str) -> None:
    event = Event(
        id=uuid4(),
        owner="organizer-ŝ",
        organization_id=uuid4(),
        name="Ünïcödé Night — 夜 🎫",
        venue="Große Halle",
        starts_at=datetime(2031, 3, 29, 1, 59, 59, 999999, tzinfo=ZoneInfo("Europe/Berlin")),
        timezone="America/Argentina/Buenos_Aires",
        locale="es-AR",
        currency=currency,
        status=EventStatus.CANCELLED,
        created_at=ODD_INSTANT,
    )
    async with uow_factory() as uow:
        await store_event(uow, event)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.catalog.get_event(event.id)
    assert stored == event
    assert stored is not None
    same_instants(stored.starts_at, event.starts_at)
    same_instants(stored.created_at, event.created_at)
    assert stored.status is EventStatus.CANCELLED
    assert stored.local_start() == event.local_start()


async def test_a_ticket_type_keeps_money_limits_and_shards(uow_factory: UnitOfWorkFactory) -> None:
    event = EventFactory.published(currency="JPY")
    ticket_type = TicketType(
        id=uuid4(),
        event_id=event.id,
        name="Arena — standing",
        price=Money(9_000_000_000_000, "JPY"),  # beyond 32 bits
        capacity=100_000,
        max_per_booking=1,
        shards=256,
    )
    async with uow_factory() as uow:
        await store_event(uow, event)
        await uow.catalog.add_ticket_type(ticket_type)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.catalog.get_ticket_type(ticket_type.id) == ticket_type
        level = (await uow.inventory.levels([ticket_type.id]))[ticket_type.id]
    assert (level.capacity, level.held, level.sold) == (100_000, 0, 0)


@pytest.mark.parametrize(
    "contact",
    [
        Contact(email="only-mail@example.org"),
        Contact(phone="+81 90 1234 5678"),
        Contact(),
        Contact(email="both@example.org", phone="+4915112345678"),
    ],
    ids=["email", "phone", "none", "both"],
)
async def test_a_booking_keeps_its_contact_items_in_order_and_times(
    uow_factory: UnitOfWorkFactory, contact: Contact
) -> None:
    event = EventFactory.published(currency="GBP")
    types = [TicketTypeFactory.for_event(event, capacity=20) for _ in range(3)]
    items = tuple(  # deliberately not in id order: the stored order must be the given one
        BookingItem(ticket_type_id=t.id, quantity=q, unit_price=t.price)
        for t, q in sorted(zip(types, (3, 1, 2), strict=True), key=lambda p: p[0].id, reverse=True)
    )
    booking = BookingFactory.build(
        event_id=event.id,
        items=items,
        contact=contact,
        created_at=ODD_INSTANT,
        expires_at=ODD_INSTANT.astimezone(TOKYO) + timedelta(minutes=15),
    )
    async with uow_factory() as uow:
        await store_event(uow, event)
        for ticket_type in types:
            await uow.catalog.add_ticket_type(ticket_type)
        await uow.bookings.add(booking)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.bookings.get(booking.id)
    assert stored == booking
    assert stored is not None
    assert stored.contact == contact
    assert [i.ticket_type_id for i in stored.items] == [i.ticket_type_id for i in items]
    assert stored.total == booking.total
    same_instants(stored.expires_at, booking.expires_at)


# -- money records ----------------------------------------------------------------------------


async def test_payments_keep_optional_fields_set_and_unset(uow_factory: UnitOfWorkFactory) -> None:
    _, _, booking, paid, _ = await stored_graph(uow_factory)
    bare = PaymentFactory.for_booking(
        booking,
        provider="stripe",
        provider_reference=None,
        checkout_url=None,
        client_secret=None,
        status=PaymentStatus.OPEN,
        created_at=ODD_INSTANT,
    )
    async with uow_factory() as uow:
        assert await uow.payments.add(bare)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.payments.get(bare.id) == bare
        assert await uow.payments.get(paid.id) == paid
        assert paid.provider_reference is not None
        assert await uow.payments.by_reference("fake", paid.provider_reference) == paid
        assert await uow.payments.open_for_booking(booking.id) == bare


async def test_orders_keep_items_contact_and_states(uow_factory: UnitOfWorkFactory) -> None:
    contact = Contact(phone="+4915112345678")
    _, _, booking, _, order = await stored_graph(uow_factory, contact=contact, currency="SEK")
    async with uow_factory() as uow:
        assert await uow.orders.move_stock(order.id, StockState.HELD, StockState.SOLD)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.orders.get(order.id)
        by_booking = await uow.orders.for_booking(booking.id)
    assert stored == msgspec.structs.replace(order, stock=StockState.SOLD)
    assert by_booking == stored
    assert stored is not None
    assert stored.items == booking.items
    assert stored.contact == contact
    assert stored.total == Money(sum(i.subtotal.amount for i in booking.items), "SEK")


async def test_refunds_keep_every_field(uow_factory: UnitOfWorkFactory) -> None:
    _, _, booking, payment, order = await stored_graph(uow_factory)
    with_order = Refund(
        id=uuid4(),
        payment_id=payment.id,
        booking_id=booking.id,
        order_id=order.id,
        buyer=booking.buyer,
        amount=payment.amount,
        reason=RefundReason.EVENT_CANCELLED,
        status=RefundStatus.FAILED,
        created_at=ODD_INSTANT,
        provider_reference="re_123",
        error="card expired — try again",
    )
    duplicate = PaymentFactory.for_booking(booking, status=PaymentStatus.REFUNDED)
    async with uow_factory() as uow:
        assert await uow.payments.add(duplicate)
        await uow.commit()
    without_order = Refund(  # one refund per payment: another payment's
        id=uuid4(),
        payment_id=duplicate.id,
        booking_id=booking.id,
        order_id=None,
        buyer=booking.buyer,
        amount=Money(1, payment.amount.currency),
        reason=RefundReason.DUPLICATE_PAYMENT,
        status=RefundStatus.PENDING,
        created_at=ODD_INSTANT,
    )
    async with uow_factory() as uow:
        assert await uow.refunds.add(with_order)
        assert await uow.refunds.add(without_order)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.refunds.get(with_order.id) == with_order
        assert await uow.refunds.get(without_order.id) == without_order
        assert await uow.refunds.find(duplicate.id, RefundReason.DUPLICATE_PAYMENT) == without_order
        assert await uow.refunds.for_payment(payment.id) == [with_order]


async def test_tickets_and_check_ins_keep_every_field(uow_factory: UnitOfWorkFactory) -> None:
    _, _, _, _, order = await stored_graph(uow_factory)
    tickets = TicketFactory.for_order(order, signer=HmacTicketSigner(), created_at=ODD_INSTANT)
    scan = CheckIn(
        id=uuid4(),
        ticket_id=tickets[0].id,
        event_id=tickets[0].event_id,
        checked_in_at=ODD_INSTANT.astimezone(TOKYO),
        scanned_by="door-3",
    )
    async with uow_factory() as uow:
        await uow.tickets.add_many(tickets)
        assert await uow.tickets.check_in(scan) == scan
        await uow.commit()
    async with uow_factory() as uow:
        stored: list[Ticket] = [t for t in [await uow.tickets.get(t.id) for t in tickets] if t]
        again = await uow.tickets.check_in(msgspec.structs.replace(scan, id=uuid4()))
    assert stored == tickets
    assert again == scan
    same_instants(again.checked_in_at, scan.checked_in_at)


# -- bookkeeping records ----------------------------------------------------------------------


async def test_idempotency_records_keep_binary_responses(uow_factory: UnitOfWorkFactory) -> None:
    record = IdempotencyRecord(
        user="alice",
        key="3f1c-😀",
        request_hash="a" * 64,
        response=bytes(range(256)),  # not UTF-8, includes NUL
        created_at=ODD_INSTANT,
    )
    async with uow_factory() as uow:
        assert await uow.idempotency.add(record)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.idempotency.get("alice", "3f1c-😀") == record


async def test_notification_records_keep_every_field(uow_factory: UnitOfWorkFactory) -> None:
    failed = NotificationRecord(
        id=uuid4(),
        key=f"tickets:{uuid4()}",
        channel="sms",
        kind="tickets",
        recipient="+4915112345678",
        status=NotificationStatus.FAILED,
        attempts=3,
        created_at=ODD_INSTANT,
        next_attempt_at=ODD_INSTANT.astimezone(TOKYO) + timedelta(seconds=40),
        sent_at=None,
        error="ConnectionError: SMS provider answered 503",
        lease=uuid4(),
        generation=2,
        requested_at=ODD_INSTANT.astimezone(TOKYO) - timedelta(seconds=3),
    )
    async with uow_factory() as uow:
        assert await uow.notifications.add(failed)
        await uow.commit()
    sent = msgspec.structs.replace(
        failed,
        status=NotificationStatus.SENT,
        attempts=4,
        next_attempt_at=None,
        sent_at=ODD_INSTANT + timedelta(minutes=2),
        error=None,
        lease=None,
    )
    suppressed = msgspec.structs.replace(
        failed,
        id=uuid4(),
        key=f"refund:{uuid4()}",
        status=NotificationStatus.SUPPRESSED,
        lease=None,
        next_attempt_at=None,
    )
    async with uow_factory() as uow:
        assert await uow.notifications.add(suppressed)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.notifications.get(suppressed.key, "sms") == suppressed
        assert await uow.notifications.get(failed.key, "sms") == failed
        await uow.notifications.update(sent)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.notifications.get(failed.key, "sms") == sent
        assert await uow.notifications.for_key_prefix("tickets:") == [sent]


def every_event_type(booking: Booking, order: Order, payment: Payment) -> list[DomainEvent]:
    """One event of each type, with every optional field exercised."""
    common = {"occurred_at": ODD_INSTANT, "booking_id": booking.id}
    refund_id = uuid4()
    return [
        BookingCreated(
            id=uuid4(),
            **common,
            event_id=booking.event_id,
            buyer=booking.buyer,
            items=booking.items,
            expires_at=booking.expires_at,
        ),
        BookingCancelled(
            id=uuid4(), **common, event_id=booking.event_id, buyer="b", items=booking.items
        ),
        BookingExpired(
            id=uuid4(), **common, event_id=booking.event_id, buyer="b", items=booking.items
        ),
        PaymentStarted(
            id=uuid4(), **common, payment_id=payment.id, provider="fake", amount=payment.amount
        ),
        PaymentFailed(
            id=uuid4(),
            **common,
            payment_id=payment.id,
            buyer="b",
            contact=Contact(phone="+4915112345678"),
            reason="card_declined",
        ),
        OrderCreated(
            id=uuid4(),
            **common,
            order_id=order.id,
            event_id=order.event_id,
            buyer=order.buyer,
            contact=order.contact,
            items=order.items,
            total=order.total,
            ticket_ids=(uuid4(), uuid4(), uuid4()),
        ),
        OrderRefunded(
            id=uuid4(),
            **common,
            order_id=order.id,
            event_id=order.event_id,
            items=order.items,
            reason="customer_cancelled",
            version=2,
        ),
        RefundRequested(
            id=uuid4(),
            **common,
            refund_id=refund_id,
            payment_id=payment.id,
            order_id=None,
            buyer="b",
            contact=Contact(),
            amount=Money(10**12, "JPY"),
            reason="hold_lost",
        ),
        RefundCompleted(
            id=uuid4(),
            **common,
            refund_id=refund_id,
            order_id=order.id,
            buyer="b",
            contact=Contact(email="b@example.org"),
            amount=payment.amount,
            reason="event_cancelled",
        ),
        EventCancelled(
            id=uuid4(),
            occurred_at=ODD_INSTANT,
            booking_id=booking.event_id,
            event_id=booking.event_id,
        ),
    ]


async def test_every_domain_event_type_reads_back_equal_from_the_outbox(
    uow_factory: UnitOfWorkFactory,
) -> None:
    booking = BookingFactory.build(created_at=ODD_INSTANT)
    payment = PaymentFactory.for_booking(booking)
    order = OrderFactory.for_booking(booking, payment)
    events = every_event_type(booking, order, payment)
    async with uow_factory() as uow:
        uow.record(*events)
        await uow.commit()
    async with uow_factory() as uow:
        pending = await uow.outbox.pending(limit=100)
    assert [type(e.event) for e in pending] == [type(e) for e in events]
    assert [e.event for e in pending] == events
    for stored, given in zip(pending, events, strict=True):
        same_instants(stored.event.occurred_at, given.occurred_at)
        assert stored.event.key == given.key
