"""The whole core on the SQL adapter: confirmation, expiry and refunds racing on one booking.

The gateway, signer and notifier are the testing kit's (real implementations of
their ports); only persistence is under test here.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import pytest
from sqlalchemy import text

from eltiketi_adapters.memory import (
    FakePaymentGateway,
    FixedClock,
    HmacTicketSigner,
    InProcessBus,
    RecordingNotifier,
    TimeOrderedIds,
)
from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.order import OrderStatus
from eltiketi_core.errors import Conflict
from eltiketi_core.usecases import ItemRequest, NewEvent, NewTicketType, ReserveRequest
from eltiketi_core.usecases.facade import Ticketing
from eltiketi_core.usecases.relay import OutboxRelay

ORGANIZER = Principal(subject="olga", roles=frozenset({"organizer"}))
ALICE = Principal(subject="alice", email="alice@example.test")


@dataclass
class Shop:
    core: Ticketing
    clock: FixedClock
    gateway: FakePaymentGateway
    relay: OutboxRelay
    db: SqlAlchemyPersistence

    async def sale(self, capacity: int) -> tuple[UUID, UUID]:
        event = await self.core.catalog.create_event(
            ORGANIZER,
            NewEvent(
                name="Race Night",
                venue="Arena",
                starts_at=self.clock.now() + timedelta(days=30),
                timezone="Europe/Berlin",
            ),
        )
        ticket_type = await self.core.catalog.add_ticket_type(
            ORGANIZER,
            event.id,
            NewTicketType(name="Standing", price=Money(4500, "EUR"), capacity=capacity, shards=2),
        )
        await self.core.catalog.publish(ORGANIZER, event.id)
        return event.id, ticket_type.id

    async def paid_hold(self, event_id: UUID, ticket_type_id: UUID) -> tuple[UUID, UUID, str]:
        request = ReserveRequest(
            event_id=event_id, items=(ItemRequest(ticket_type_id=ticket_type_id, quantity=1),)
        )
        booking = (await self.core.bookings.reserve(ALICE, request)).booking
        payment = await self.core.payments.start(ALICE, booking.id)
        assert payment.provider_reference is not None
        self.gateway.approve(payment.provider_reference)
        return booking.id, payment.id, payment.provider_reference

    async def counters(self, ticket_type_id: UUID) -> tuple[int, int]:
        async with self.db.unit_of_work() as uow:
            level = (await uow.inventory.levels([ticket_type_id]))[ticket_type_id]
        return level.held, level.sold


async def _cancel_event(core: Ticketing, event_id: UUID) -> None:
    """The organizer's request, then the background job it queued."""
    await core.cancellation.cancel(ORGANIZER, event_id)
    while await core.jobs.run_due():
        pass


@pytest.fixture
def shop(db: SqlAlchemyPersistence) -> Shop:
    clock = FixedClock()
    gateway = FakePaymentGateway()
    core = Ticketing(
        uow=db.uow_factory(),
        clock=clock,
        ids=TimeOrderedIds(),
        gateway=gateway,
        signer=HmacTicketSigner(),
        notifiers=[RecordingNotifier("email")],
    )
    relay = OutboxRelay(db.uow_factory(), InProcessBus(core.handlers, backoff_seconds=0), clock)
    return Shop(core=core, clock=clock, gateway=gateway, relay=relay, db=db)


async def test_confirmations_and_the_sweeper_racing_have_one_winner(shop: Shop) -> None:
    for _ in range(5):
        event_id, ticket_type_id = await shop.sale(capacity=1)
        booking_id, payment_id, _ = await shop.paid_hold(event_id, ticket_type_id)
        shop.clock.advance(minutes=15)  # the hold has just expired
        results = await asyncio.gather(
            shop.core.settlement.confirm(ALICE, booking_id, payment_id),
            shop.core.sweeper.sweep(),
            shop.core.settlement.confirm(ALICE, booking_id, payment_id),
            return_exceptions=True,
        )
        created = [r for r in results if getattr(r, "created", False)]
        assert len(created) == 1, results
        await shop.relay.drain()
        assert await shop.counters(ticket_type_id) == (0, 1)
        async with shop.db.unit_of_work() as uow:
            assert len(await uow.tickets.for_order(created[0].order.id)) == 1


async def test_refunds_racing_on_one_order_move_the_money_once(shop: Shop) -> None:
    event_id, ticket_type_id = await shop.sale(capacity=5)
    booking_id, payment_id, reference = await shop.paid_hold(event_id, ticket_type_id)
    order = (await shop.core.settlement.confirm(ALICE, booking_id, payment_id)).order
    await shop.relay.drain()
    assert await shop.counters(ticket_type_id) == (0, 1)
    results = await asyncio.gather(
        shop.core.orders.cancel(ALICE, order.id),
        shop.core.orders.cancel(ALICE, order.id),
        _cancel_event(shop.core, event_id),
        _cancel_event(shop.core, event_id),
        return_exceptions=True,
    )
    assert [r for r in results if isinstance(r, Exception) and not isinstance(r, Conflict)] == []
    await shop.relay.drain()
    assert await shop.counters(ticket_type_id) == (0, 0)
    assert shop.gateway.refunded_amount(reference) == order.total.amount
    async with shop.db.unit_of_work() as uow:
        assert (await uow.orders.get(order.id)).status is OrderStatus.REFUNDED  # type: ignore[union-attr]
        assert len(await uow.refunds.for_payment(payment_id)) == 1
    async with shop.db.engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM booking_allocations")) == 0


async def test_an_organizers_refund_racing_the_buyer_and_the_event_refunds_once(
    shop: Shop,
) -> None:
    """The back office's refund takes the buyer's path (one compare-and-set on the order):
    racing it twice, the buyer's cancellation and the event's, the money moves once."""
    event_id, ticket_type_id = await shop.sale(capacity=5)
    booking_id, payment_id, reference = await shop.paid_hold(event_id, ticket_type_id)
    order = (await shop.core.settlement.confirm(ALICE, booking_id, payment_id)).order
    await shop.relay.drain()
    results = await asyncio.gather(
        shop.core.organizer_orders.refund(ORGANIZER, event_id, order.id),
        shop.core.organizer_orders.refund(ORGANIZER, event_id, order.id),
        shop.core.orders.cancel(ALICE, order.id),
        _cancel_event(shop.core, event_id),
        return_exceptions=True,
    )
    assert [r for r in results if isinstance(r, Exception) and not isinstance(r, Conflict)] == []
    await shop.relay.drain()
    assert await shop.counters(ticket_type_id) == (0, 0)
    assert shop.gateway.refunded_amount(reference) == order.total.amount
    async with shop.db.unit_of_work() as uow:
        assert (await uow.orders.get(order.id)).status is OrderStatus.REFUNDED  # type: ignore[union-attr]
        assert len(await uow.refunds.for_payment(payment_id)) == 1
        assert {t.status.value for t in await uow.tickets.for_order(order.id)} == {"void"}
