"""InMemoryTicketing: the wired kit, its shortcuts and its strict drain."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from eltiketi_adapters.memory import (
    KIT_STAFF,
    InMemoryTicketing,
    UndeliveredEvents,
)
from eltiketi_core.domain.booking import BookingStatus
from eltiketi_core.domain.events import OrderCreated
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.order import OrderStatus
from eltiketi_core.usecases import ItemRequest, NewTicketType, Policy, ReserveRequest


async def levels(kit: InMemoryTicketing, ticket_type_id: UUID) -> tuple[int, int]:
    async with kit.uow() as uow:
        level = (await uow.inventory.levels([ticket_type_id]))[ticket_type_id]
    return level.held, level.sold


async def test_event_on_sale_is_published_with_its_stock() -> None:
    kit = InMemoryTicketing()
    view = await kit.event_on_sale(capacity=7, price=Money(1200, "CHF"), name="Jazz")
    assert view.event.name == "Jazz"
    assert view.event.currency == "CHF"
    assert view.event.is_on_sale
    assert view.event.starts_at == kit.clock.now() + timedelta(days=30)
    [standard] = view.ticket_types
    assert (standard.capacity, standard.available, standard.price) == (7, 7, Money(1200, "CHF"))
    assert [e.event.id for e in await kit.catalog.list_published()] == [view.event.id]


async def test_event_on_sale_with_several_ticket_types() -> None:
    kit = InMemoryTicketing()
    view = await kit.event_on_sale(
        ticket_types=[
            NewTicketType(name="Floor", price=Money(5000, "EUR"), capacity=100, shards=4),
            NewTicketType(name="Balcony", price=Money(3000, "EUR"), capacity=20),
        ]
    )
    assert [t.name for t in view.ticket_types] == ["Floor", "Balcony"]


async def test_buy_runs_the_whole_journey() -> None:
    kit = InMemoryTicketing()
    view = await kit.event_on_sale(capacity=10)
    alice = kit.customer("alice")
    floor = view.ticket_types[0].id
    confirmation = await kit.buy(alice, view.event.id, {floor: 3})
    assert confirmation.created
    assert confirmation.order.status is OrderStatus.CONFIRMED
    assert await levels(kit, floor) == (0, 3)  # drained: held → sold
    [notice] = kit.notifier.tickets
    assert notice.contact.email == "alice@example.org"
    assert len(notice.tickets) == 3
    claims = kit.signer.verify(notice.tickets[0].token)
    assert claims.event_id == view.event.id
    admission = await kit.checkins.check_in(KIT_STAFF, notice.tickets[0].token, view.event.id)
    assert admission is not None


async def test_buy_without_draining_leaves_the_stock_held() -> None:
    kit = InMemoryTicketing()
    view = await kit.event_on_sale(capacity=10)
    floor = view.ticket_types[0].id
    await kit.buy(kit.customer(), view.event.id, {floor: 2}, drain=False)
    assert await levels(kit, floor) == (2, 0)
    assert kit.notifier.tickets == []
    assert len(kit.storage.recorded_events(OrderCreated)) == 1
    assert await kit.drain() > 0
    assert await levels(kit, floor) == (0, 2)
    assert await kit.drain() == 0


async def test_expire_holds_moves_the_clock_past_the_hold_time() -> None:
    kit = InMemoryTicketing(policy=Policy(hold_ttl=timedelta(minutes=5)))
    view = await kit.event_on_sale(capacity=4)
    alice = kit.customer()
    request = ReserveRequest(
        event_id=view.event.id,
        items=(ItemRequest(ticket_type_id=view.ticket_types[0].id, quantity=4),),
    )
    booking = (await kit.bookings.reserve(alice, request)).booking
    start = kit.clock.now()
    assert await kit.expire_holds() == 1
    assert kit.clock.now() == start + timedelta(minutes=5)
    assert (await kit.bookings.get(alice, booking.id)).status is BookingStatus.EXPIRED
    assert await levels(kit, view.ticket_types[0].id) == (0, 0)


async def test_a_failing_handler_fails_a_strict_drain() -> None:
    kit = InMemoryTicketing()
    view = await kit.event_on_sale(capacity=10)
    alice = kit.customer()
    confirmation = await kit.buy(alice, view.event.id, {view.ticket_types[0].id: 1})
    await kit.orders.cancel(alice, confirmation.order.id)
    kit.gateway.fail_next(10)  # the refund executor keeps failing, past the bus's retries
    with pytest.raises(UndeliveredEvents) as failure:
        await kit.drain()
    [(handler, event, error)] = failure.value.undelivered
    assert handler == "refunds"
    assert event.type == "RefundRequested"
    assert "GatewayUnavailable" in error
    assert kit.bus.dead_letters  # where the app keeps it, too
    kit.gateway.fail_next(0)
    assert await kit.drain(strict=False) == 0


async def test_kits_are_independent() -> None:
    one, two = InMemoryTicketing(), InMemoryTicketing()
    await one.event_on_sale()
    assert await two.catalog.list_published() == []
