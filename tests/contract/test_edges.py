"""Edges of the port rules that a happy path never reaches.

Duplicate ids are constraint violations (``Conflict``), never a silent
``False``: ``False`` is reserved for the documented uniqueness rules. Filters
apply before limits. Empty filters select nothing; a refused reservation
leaves earlier work of the same transaction alone. Every backend answers the
same.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import msgspec
import pytest

from eltiketi_adapters.memory.factories import (
    BASE_INSTANT,
    BookingFactory,
    EventFactory,
    OrderFactory,
    PaymentFactory,
    TicketFactory,
    TicketTypeFactory,
)
from eltiketi_core.domain.booking import Booking
from eltiketi_core.domain.catalog import Event, EventStatus, TicketType
from eltiketi_core.domain.events import EventCancelled
from eltiketi_core.domain.order import CheckIn, Order, order_reference
from eltiketi_core.domain.payment import Payment, PaymentStatus, Refund, RefundReason, RefundStatus
from eltiketi_core.errors import Conflict
from eltiketi_core.ports.stores import NotificationRecord, NotificationStatus
from eltiketi_core.ports.uow import UnitOfWork, UnitOfWorkFactory
from tests.contract.builders import store_event

NOW = BASE_INSTANT


async def graph(
    uow_factory: UnitOfWorkFactory, *, capacity: int = 20, shards: int = 1
) -> tuple[Event, TicketType, Booking, Payment, Order]:
    event = EventFactory.published(currency="EUR")
    ticket_type = TicketTypeFactory.for_event(event, capacity=capacity, shards=shards)
    booking = BookingFactory.for_ticket_types([ticket_type], 2, created_at=NOW)
    payment = PaymentFactory.for_booking(booking, status=PaymentStatus.SUCCEEDED)
    order = OrderFactory.for_booking(booking, payment)
    async with uow_factory() as uow:
        await store_event(uow, event)
        await uow.catalog.add_ticket_type(ticket_type)
        await uow.bookings.add(booking)
        assert await uow.payments.add(payment)
        assert await uow.orders.add(order)
        await uow.commit()
    return event, ticket_type, booking, payment, order


async def add_and_commit(uow_factory: UnitOfWorkFactory, what: str, record: object) -> object:
    async with uow_factory() as uow:
        store = getattr(uow, what)
        result = await store.add(record)
        await uow.commit()
    return result


async def committed(
    uow_factory: UnitOfWorkFactory, action: Callable[[UnitOfWork], Awaitable[object]]
) -> None:
    """Run ``action`` in a unit of work and commit (one statement for ``pytest.raises``)."""
    async with uow_factory() as uow:
        await action(uow)
        await uow.commit()


# -- duplicate ids ----------------------------------------------------------------------------


async def test_an_order_id_is_unique(uow_factory: UnitOfWorkFactory) -> None:
    """A second order with a taken id, for a booking and payment that have no order yet,
    is a constraint violation — not the documented ``False`` (which means "this booking
    or payment already has an order")."""
    _, ticket_type, _, _, order = await graph(uow_factory)
    other_booking = BookingFactory.for_ticket_types([ticket_type], 1, created_at=NOW)
    other_payment = PaymentFactory.for_booking(other_booking, status=PaymentStatus.SUCCEEDED)
    async with uow_factory() as uow:
        await uow.bookings.add(other_booking)
        assert await uow.payments.add(other_payment)
        await uow.commit()
    same_id = msgspec.structs.replace(
        OrderFactory.for_booking(other_booking, other_payment), id=order.id
    )
    with pytest.raises(Conflict):
        await add_and_commit(uow_factory, "orders", same_id)
    async with uow_factory() as uow:
        assert await uow.orders.for_booking(other_booking.id) is None


async def test_an_order_reference_is_unique_and_found(uow_factory: UnitOfWorkFactory) -> None:
    """A reference another order has is refused like a second order for the booking
    (``False``, nothing written): the settlement then issues the order under a fresh id."""
    _, ticket_type, _, _, order = await graph(uow_factory)
    assert order.reference == order_reference(order.id)
    other_booking = BookingFactory.for_ticket_types([ticket_type], 1, created_at=NOW)
    other_payment = PaymentFactory.for_booking(other_booking, status=PaymentStatus.SUCCEEDED)
    async with uow_factory() as uow:
        await uow.bookings.add(other_booking)
        assert await uow.payments.add(other_payment)
        await uow.commit()
    colliding = OrderFactory.for_booking(other_booking, other_payment, reference=order.reference)
    assert not await add_and_commit(uow_factory, "orders", colliding)
    fresh = OrderFactory.for_booking(other_booking, other_payment)
    assert fresh.reference != order.reference
    assert await add_and_commit(uow_factory, "orders", fresh)
    async with uow_factory() as uow:
        assert await uow.orders.by_reference(order.reference) == order
        assert await uow.orders.by_reference(fresh.reference) == fresh
        assert await uow.orders.by_reference(order.reference.lower()) is None
        assert await uow.orders.by_reference("00000000") is None


async def test_payment_refund_notification_and_check_in_ids_are_unique(
    uow_factory: UnitOfWorkFactory,
) -> None:
    _, ticket_type, booking, payment, order = await graph(uow_factory)
    [ticket, other_ticket] = TicketFactory.for_order(order)
    refund = Refund(
        id=uuid4(),
        payment_id=payment.id,
        booking_id=booking.id,
        order_id=order.id,
        buyer=booking.buyer,
        amount=payment.amount,
        reason=RefundReason.CUSTOMER_CANCELLED,
        status=RefundStatus.PENDING,
        created_at=NOW,
    )
    notification = NotificationRecord(
        id=uuid4(),
        key=f"tickets:{order.id}",
        channel="email",
        kind="tickets",
        recipient="a@example.org",
        status=NotificationStatus.QUEUED,
        attempts=0,
        created_at=NOW,
    )
    scan = CheckIn(
        id=uuid4(), ticket_id=ticket.id, event_id=ticket.event_id, checked_in_at=NOW, scanned_by="x"
    )
    async with uow_factory() as uow:
        await uow.tickets.add_many([ticket, other_ticket])
        assert await uow.refunds.add(refund)
        assert await uow.notifications.add(notification)
        assert await uow.tickets.check_in(scan) == scan
        await uow.commit()

    duplicate_payment = msgspec.structs.replace(  # not open: only the id collides
        PaymentFactory.for_booking(booking, status=PaymentStatus.FAILED), id=payment.id
    )
    with pytest.raises(Conflict):
        await add_and_commit(uow_factory, "payments", duplicate_payment)
    # another payment's refund (one refund per payment), so only the id collides
    other_payment = PaymentFactory.for_booking(booking, status=PaymentStatus.FAILED)
    await add_and_commit(uow_factory, "payments", other_payment)
    duplicate_refund = msgspec.structs.replace(
        refund, payment_id=other_payment.id, reason=RefundReason.EVENT_CANCELLED
    )
    with pytest.raises(Conflict):
        await add_and_commit(uow_factory, "refunds", duplicate_refund)
    duplicate_notification = msgspec.structs.replace(notification, channel="sms")
    with pytest.raises(Conflict):
        await add_and_commit(uow_factory, "notifications", duplicate_notification)
    same_scan_id = msgspec.structs.replace(scan, ticket_id=other_ticket.id)
    with pytest.raises(Conflict):
        await committed(uow_factory, lambda uow: uow.tickets.check_in(same_scan_id))
    async with uow_factory() as uow:
        stored = {p.id: p for p in await uow.payments.for_booking(booking.id)}
        assert stored == {payment.id: payment, other_payment.id: other_payment}
        assert await uow.refunds.for_payment(payment.id) == [refund]
        assert await uow.notifications.for_key_prefix("tickets:") == [notification]


async def test_an_event_recorded_twice_fails_the_commit(uow_factory: UnitOfWorkFactory) -> None:
    event = EventFactory.build()
    cancelled = EventCancelled(id=uuid4(), occurred_at=NOW, booking_id=event.id, event_id=event.id)
    async with uow_factory() as uow:
        uow.record(cancelled)
        await uow.commit()

    async def add_and_record_again(uow: UnitOfWork) -> None:
        await store_event(uow, event)
        uow.record(cancelled)

    with pytest.raises(Conflict):
        await committed(uow_factory, add_and_record_again)
    async with uow_factory() as uow:  # the whole transaction is gone, not just the event
        assert await uow.catalog.get_event(event.id) is None
        assert [e.event for e in await uow.outbox.pending(limit=10)] == [cancelled]


# -- one open payment per booking, however it is written --------------------------------------


async def test_update_cannot_make_a_second_open_payment(uow_factory: UnitOfWorkFactory) -> None:
    _, _, booking, _, _ = await graph(uow_factory)
    opened = PaymentFactory.for_booking(booking, status=PaymentStatus.OPEN)
    failed = PaymentFactory.for_booking(booking, status=PaymentStatus.FAILED)
    async with uow_factory() as uow:
        assert await uow.payments.add(opened)
        assert await uow.payments.add(failed)
        await uow.commit()
    reopened = failed.with_status(PaymentStatus.OPEN)
    with pytest.raises(Conflict):
        await committed(uow_factory, lambda uow: uow.payments.update(reopened))
    async with uow_factory() as uow:
        assert await uow.payments.open_for_booking(booking.id) == opened
        assert await uow.payments.get(failed.id) == failed


async def test_a_provider_reference_cannot_be_moved_onto_another_payment(
    uow_factory: UnitOfWorkFactory,
) -> None:
    _, _, booking, paid, _ = await graph(uow_factory)
    other = PaymentFactory.for_booking(booking, status=PaymentStatus.OPEN, provider_reference=None)
    async with uow_factory() as uow:
        assert await uow.payments.add(other)
        await uow.commit()
    taken = msgspec.structs.replace(other, provider_reference=paid.provider_reference)
    with pytest.raises(Conflict):
        await committed(uow_factory, lambda uow: uow.payments.update(taken))
    assert paid.provider_reference is not None
    async with uow_factory() as uow:
        assert await uow.payments.by_reference("fake", paid.provider_reference) == paid


# -- filters before limits, empty filters -----------------------------------------------------


async def test_claim_expired_filters_by_type_before_the_limit(
    uow_factory: UnitOfWorkFactory,
) -> None:
    event = EventFactory.published(currency="EUR")
    wanted, noisy = (TicketTypeFactory.for_event(event, capacity=50) for _ in range(2))
    early_noise = [
        BookingFactory.for_ticket_types([noisy], 1, created_at=NOW - timedelta(minutes=30))
        for _ in range(5)
    ]
    mine = [BookingFactory.for_ticket_types([wanted], 1, created_at=NOW) for _ in range(2)]
    async with uow_factory() as uow:
        await store_event(uow, event)
        await uow.catalog.add_ticket_type(wanted)
        await uow.catalog.add_ticket_type(noisy)
        for booking in (*early_noise, *mine):
            await uow.bookings.add(booking)
        await uow.commit()
    later = NOW + timedelta(hours=1)
    async with uow_factory() as uow:
        claimed = await uow.bookings.claim_expired(later, limit=2, ticket_type_id=wanted.id)
        assert await uow.bookings.claim_expired(later, limit=0) == []
    assert {b.id for b in claimed} == {b.id for b in mine}


async def test_empty_filters_and_zero_limits_select_nothing(uow_factory: UnitOfWorkFactory) -> None:
    event, _, booking, _, order = await graph(uow_factory)
    async with uow_factory() as uow:
        assert await uow.catalog.list_events(statuses=frozenset()) == []
        assert await uow.catalog.list_events(limit=0) == []
        assert await uow.catalog.list_events(offset=1) == []
        mine = await uow.catalog.list_events(organizations=[event.organization_id])
        assert [e.id for e in mine] == [event.id]
        assert await uow.catalog.list_events(organizations=[uuid4()]) == []
        assert await uow.catalog.list_events(organizations=()) == []
        assert await uow.orders.list_for_buyer(booking.buyer, offset=1) == []
        assert await uow.orders.list_for_event(event.id, limit=0) == []
        assert await uow.bookings.held_for_event(event.id, limit=0) == []
        assert (
            await uow.notifications.claim_due(
                NOW + timedelta(days=1), lease=uuid4(), until=NOW, limit=0
            )
            == []
        )
        assert await uow.inventory.levels([]) == {}
        assert [o.id for o in await uow.orders.list_for_buyer(booking.buyer)] == [order.id]


async def test_events_by_start_time_whatever_zone_they_were_given_in(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """``starts_at`` orders by the instant, not by the wall-clock text: 20:00 in New
    York is after 09:00 in Tokyo of the next calendar day."""
    base = NOW + timedelta(days=10)
    tokyo_morning = EventFactory.published(
        starts_at=(base + timedelta(hours=1)).astimezone(ZoneInfo("Asia/Tokyo"))
    )
    new_york_evening = EventFactory.published(
        starts_at=(base + timedelta(hours=2)).astimezone(ZoneInfo("America/New_York"))
    )
    utc_first = EventFactory.published(starts_at=base)
    async with uow_factory() as uow:
        for event in (new_york_evening, tokyo_morning, utc_first):
            await store_event(uow, event)
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.catalog.list_events(statuses=frozenset({EventStatus.PUBLISHED}))
    assert [e.id for e in found] == [utc_first.id, tokyo_morning.id, new_york_evening.id]


async def test_times_given_in_any_zone_compare_as_instants(uow_factory: UnitOfWorkFactory) -> None:
    """``now`` handed to the stores in a non-UTC zone means the same instant."""
    tokyo = ZoneInfo("Asia/Tokyo")
    _, ticket_type, booking, _, _ = await graph(uow_factory)
    held = BookingFactory.for_ticket_types([ticket_type], 3, created_at=NOW)
    async with uow_factory() as uow:
        await uow.bookings.add(held)
        await uow.commit()
    just_before = (held.expires_at - timedelta(microseconds=1)).astimezone(tokyo)
    at_expiry = held.expires_at.astimezone(tokyo)
    async with uow_factory() as uow:
        assert await uow.bookings.claim_expired(just_before, limit=10) == []
        claimed = await uow.bookings.claim_expired(at_expiry, limit=10)
        assert {b.id for b in claimed} == {booking.id, held.id}
        buyer, event_id = held.buyer, held.event_id
        assert await uow.bookings.active_quantity(buyer, event_id, just_before) == 3
        assert await uow.bookings.active_quantity(buyer, event_id, at_expiry) == 0


async def test_a_refused_reservation_keeps_the_earlier_work_of_its_transaction(
    uow_factory: UnitOfWorkFactory,
) -> None:
    for shards in (1, 4):
        event = EventFactory.published(currency="EUR")
        ticket_type = TicketTypeFactory.for_event(event, capacity=10, shards=shards)
        async with uow_factory() as uow:
            await store_event(uow, event)
            await uow.catalog.add_ticket_type(ticket_type)
            await uow.commit()
        first, second = uuid4(), uuid4()
        async with uow_factory() as uow:
            assert await uow.inventory.reserve(first, ticket_type.id, 6)
            assert not await uow.inventory.reserve(second, ticket_type.id, 5)
            assert await uow.inventory.reserve(second, ticket_type.id, 4)
            await uow.commit()
        async with uow_factory() as uow:
            level = (await uow.inventory.levels([ticket_type.id]))[ticket_type.id]
            await uow.inventory.release(first, ticket_type.id, 6)
            await uow.inventory.release(second, ticket_type.id, 4)
            await uow.commit()
        assert (level.held, level.sold, level.available) == (10, 0, 0)
