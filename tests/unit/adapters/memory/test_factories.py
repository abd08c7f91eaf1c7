"""The polyfactory factories build objects the core and the stores accept."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import msgspec
import pytest

from eltiketi_adapters.memory import HmacTicketSigner, MemoryStorage, memory_uow_factory
from eltiketi_adapters.memory.factories import (
    CURRENCIES,
    BookingFactory,
    ContactFactory,
    EventFactory,
    MoneyFactory,
    OrderFactory,
    OrganizationFactory,
    PaymentFactory,
    PrincipalFactory,
    TicketFactory,
    TicketTypeFactory,
    seed,
)
from eltiketi_core.domain.booking import Booking, BookingStatus
from eltiketi_core.domain.catalog import Event, EventStatus, TicketType
from eltiketi_core.domain.payment import PaymentStatus

ROUNDS = 50


def revalidated(obj: msgspec.Struct) -> msgspec.Struct:
    """Round-trip through JSON with validation, which runs ``__post_init__`` checks."""
    return msgspec.json.decode(msgspec.json.encode(obj), type=type(obj))


def test_money_and_contacts_are_valid() -> None:
    for _ in range(ROUNDS):
        money = MoneyFactory.build()
        assert money.currency in CURRENCIES
        assert money.amount > 0
        contact = ContactFactory.build()
        assert contact.email and contact.email.endswith("@example.org")
        assert contact.phone and contact.phone.startswith("+")


def test_events_are_in_the_future_in_real_timezones() -> None:
    for _ in range(ROUNDS):
        event = EventFactory.build()
        assert revalidated(event) == event
        assert event.starts_at.tzinfo is not None
        assert event.created_at < event.starts_at
        ZoneInfo(event.timezone)
        assert event.status is EventStatus.DRAFT
    assert EventFactory.published().is_on_sale


def test_principals_are_plain_customers_unless_given_roles() -> None:
    principal = PrincipalFactory.build()
    assert principal.roles == frozenset()
    assert principal.email
    organizer = PrincipalFactory.build(roles=frozenset({"organizer"}))
    assert organizer.roles == frozenset({"organizer"})


def test_bookings_add_up() -> None:
    for _ in range(ROUNDS):
        booking = BookingFactory.build()
        assert booking.status is BookingStatus.HELD
        assert booking.items
        assert len({i.unit_price.currency for i in booking.items}) == 1
        assert booking.total.amount == sum(i.subtotal.amount for i in booking.items)
        assert booking.total.currency == booking.items[0].unit_price.currency
        assert booking.expires_at > booking.created_at


def test_related_objects_agree() -> None:
    event = EventFactory.published(currency="SEK")
    types = [TicketTypeFactory.for_event(event) for _ in range(2)]
    assert all(t.price.currency == "SEK" and t.event_id == event.id for t in types)
    booking = BookingFactory.for_ticket_types(types, quantity=2, buyer="alice")
    assert booking.event_id == event.id
    assert booking.total.amount == 2 * sum(t.price.amount for t in types)
    payment = PaymentFactory.for_booking(booking)
    assert (payment.booking_id, payment.amount, payment.buyer) == (
        booking.id,
        booking.total,
        "alice",
    )
    assert payment.status is PaymentStatus.OPEN
    assert payment.provider_reference and payment.checkout_url
    assert payment.checkout_url.endswith(payment.provider_reference)
    order = OrderFactory.for_booking(booking, payment)
    assert (order.booking_id, order.payment_id, order.total) == (
        booking.id,
        payment.id,
        booking.total,
    )
    signer = HmacTicketSigner()
    tickets = TicketFactory.for_order(order, signer=signer)
    assert len(tickets) == 4
    assert {signer.verify(t.token).ticket_id for t in tickets} == {t.id for t in tickets}
    with pytest.raises(ValueError, match="another booking"):
        OrderFactory.for_booking(BookingFactory.build(), payment)


def test_overrides_win() -> None:
    event = EventFactory.build(name="Fixed", timezone="Asia/Tokyo")
    assert (event.name, event.timezone) == ("Fixed", "Asia/Tokyo")


def test_seed_repeats_the_values_but_never_the_ids() -> None:
    seed(42)
    first = EventFactory.build()
    seed(42)
    second = EventFactory.build()
    assert (first.name, first.timezone, first.starts_at) == (
        second.name,
        second.timezone,
        second.starts_at,
    )
    assert first.id != second.id


async def test_built_objects_are_accepted_by_the_stores() -> None:
    make = memory_uow_factory(MemoryStorage())
    organization = OrganizationFactory.build()
    event: Event = EventFactory.for_organization(
        organization, status=EventStatus.PUBLISHED, currency="EUR"
    )
    ticket_type: TicketType = TicketTypeFactory.for_event(event, capacity=10)
    booking: Booking = BookingFactory.for_ticket_types([ticket_type], quantity=2)
    payment = PaymentFactory.for_booking(booking, status=PaymentStatus.SUCCEEDED)
    order = OrderFactory.for_booking(booking, payment)
    tickets = TicketFactory.for_order(order)
    async with make() as uow:
        assert await uow.organizations.add(organization)
        await uow.catalog.add_event(event)
        await uow.catalog.add_ticket_type(ticket_type)
        assert await uow.inventory.reserve(booking.id, ticket_type.id, 2)
        await uow.bookings.add(booking)
        assert await uow.payments.add(payment)
        assert await uow.orders.add(order)
        await uow.tickets.add_many(tickets)
        await uow.commit()
    async with make() as uow:
        assert await uow.bookings.get(booking.id) == booking
        assert len(await uow.tickets.for_order(order.id)) == 2
