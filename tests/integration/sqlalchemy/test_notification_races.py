"""Notifications on the SQL adapter: racing resends, capped notices, crashed senders.

The gateway, signer and notifiers are the testing kit's (real implementations of
their ports, the notifiers waiting a moment as a network would); only persistence
is under test.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID

import pytest

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
from eltiketi_core.errors import PaymentIncomplete, RateLimited
from eltiketi_core.ports.notifications import PaymentProblemNotice, TicketsNotice
from eltiketi_core.ports.stores import NotificationStatus
from eltiketi_core.usecases import ItemRequest, NewEvent, NewTicketType, ReserveRequest
from eltiketi_core.usecases.facade import Ticketing
from eltiketi_core.usecases.relay import OutboxRelay

ORGANIZER = Principal(subject="olga", roles=frozenset({"organizer"}))
ALICE = Principal(subject="alice", email="alice@example.test", phone="+4915112345678")


class WireNotifier(RecordingNotifier):
    """Records, after a pause like a real provider's round trip (so requests interleave)."""

    async def send_tickets(self, notice: TicketsNotice) -> None:
        await asyncio.sleep(0.01)
        await super().send_tickets(notice)

    async def send_payment_problem(self, notice: PaymentProblemNotice) -> None:
        await asyncio.sleep(0.01)
        await super().send_payment_problem(notice)


class Shop:
    def __init__(self, db: SqlAlchemyPersistence) -> None:
        self.clock = FixedClock()
        self.gateway = FakePaymentGateway()
        self.email, self.sms = WireNotifier("email"), WireNotifier("sms")
        self.db = db
        self.core = Ticketing(
            uow=db.uow_factory(),
            clock=self.clock,
            ids=TimeOrderedIds(),
            gateway=self.gateway,
            signer=HmacTicketSigner(),
            notifiers=[self.email, self.sms],
        )
        self.relay = OutboxRelay(
            db.uow_factory(), InProcessBus(self.core.handlers, backoff_seconds=0), self.clock
        )

    async def hold(self) -> UUID:
        event = await self.core.catalog.create_event(
            ORGANIZER,
            NewEvent(
                name="Resend Night",
                venue="Arena",
                starts_at=self.clock.now() + timedelta(days=30),
                timezone="Europe/Berlin",
            ),
        )
        ticket_type = await self.core.catalog.add_ticket_type(
            ORGANIZER,
            event.id,
            NewTicketType(name="Standing", price=Money(4500, "EUR"), capacity=5),
        )
        await self.core.catalog.publish(ORGANIZER, event.id)
        request = ReserveRequest(
            event_id=event.id, items=(ItemRequest(ticket_type_id=ticket_type.id, quantity=1),)
        )
        return (await self.core.bookings.reserve(ALICE, request)).booking.id

    async def pay(self, booking_id: UUID, *, approve: bool) -> UUID:
        payment = await self.core.payments.start(ALICE, booking_id)
        assert payment.provider_reference is not None
        if approve:
            self.gateway.approve(payment.provider_reference)
        else:
            self.gateway.decline(payment.provider_reference)
        return payment.id


@pytest.fixture
def shop(db: SqlAlchemyPersistence) -> Shop:
    return Shop(db)


async def test_ten_concurrent_resends_send_one_email_and_one_sms(shop: Shop) -> None:
    booking_id = await shop.hold()
    payment_id = await shop.pay(booking_id, approve=True)
    order = (await shop.core.settlement.confirm(ALICE, booking_id, payment_id)).order
    await shop.relay.drain()
    assert (len(shop.email.tickets), len(shop.sms.tickets)) == (1, 1)
    shop.clock.advance(minutes=2)

    results = await asyncio.gather(
        *(shop.core.notifications.resend_tickets(ALICE, order.id) for _ in range(10)),
        return_exceptions=True,
    )

    assert sorted(r for r in results if isinstance(r, int)) == [2]
    assert all(isinstance(r, RateLimited) for r in results if not isinstance(r, int)), results
    assert (len(shop.email.tickets), len(shop.sms.tickets)) == (2, 2)
    keys = [n.message_key for n in (*shop.email.tickets, *shop.sms.tickets)]
    assert keys == [
        f"tickets:{order.id}/email",
        f"tickets:{order.id}/email/1",
        f"tickets:{order.id}/sms",
        f"tickets:{order.id}/sms/1",
    ]


async def test_three_declined_payments_send_one_notice_per_channel(shop: Shop) -> None:
    booking_id = await shop.hold()
    for _ in range(3):
        payment_id = await shop.pay(booking_id, approve=False)
        with pytest.raises(PaymentIncomplete):
            await shop.core.settlement.confirm(ALICE, booking_id, payment_id)
    await shop.relay.drain()
    assert (len(shop.email.payment_problems), len(shop.sms.payment_problems)) == (1, 1)
    async with shop.db.unit_of_work() as uow:
        records = await uow.notifications.for_key_prefix("payment_problem:")
    assert sorted(r.status for r in records) == sorted(
        [NotificationStatus.SENT] * 2 + [NotificationStatus.SUPPRESSED] * 4
    )
