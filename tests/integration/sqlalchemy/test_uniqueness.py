"""Write-time uniqueness under concurrency: one open payment, one check-in, one order, one refund."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import msgspec
import pytest

from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from eltiketi_core.domain.booking import Booking, BookingItem, BookingStatus, Contact
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.order import CheckIn, Order, Ticket, TicketStatus
from eltiketi_core.domain.payment import (
    Payment,
    PaymentStatus,
    Refund,
    RefundReason,
    RefundStatus,
)
from tests.integration.sqlalchemy.support import START, published_event


async def _booking(db: SqlAlchemyPersistence) -> Booking:
    event, (ticket_type,) = await published_event(db, 10)
    item = BookingItem(ticket_type_id=ticket_type.id, quantity=2, unit_price=ticket_type.price)
    booking = Booking(
        id=uuid.uuid4(),
        event_id=event.id,
        buyer="buyer-1",
        contact=Contact(email="b@example.test"),
        items=(item,),
        total=item.subtotal,
        status=BookingStatus.HELD,
        created_at=START,
        expires_at=START + timedelta(minutes=15),
    )
    async with db.unit_of_work() as uow:
        assert await uow.inventory.reserve(booking.id, ticket_type.id, 2)
        await uow.bookings.add(booking)
        await uow.commit()
    return booking


def _payment(booking: Booking, status: PaymentStatus = PaymentStatus.OPEN) -> Payment:
    return Payment(
        id=uuid.uuid4(),
        booking_id=booking.id,
        buyer=booking.buyer,
        provider="fake",
        amount=booking.total,
        status=status,
        created_at=START,
    )


async def _add_payment(db: SqlAlchemyPersistence, payment: Payment, pause: float) -> bool:
    async with db.unit_of_work() as uow:
        added = await uow.payments.add(payment)
        await asyncio.sleep(pause)  # overlap the two transactions
        await uow.commit()
        return added


@pytest.mark.postgres
async def test_concurrent_payments_open_exactly_one(pg: SqlAlchemyPersistence) -> None:
    booking = await _booking(pg)
    first, second = _payment(booking), _payment(booking)
    results = await asyncio.gather(_add_payment(pg, first, 0.2), _add_payment(pg, second, 0))
    assert sorted(results) == [False, True]
    async with pg.unit_of_work() as uow:
        assert len(await uow.payments.for_booking(booking.id)) == 1
        opened = await uow.payments.open_for_booking(booking.id)
        assert opened is not None
        # a closed payment does not count, and reopening cannot make a second open one
        failed = _payment(booking, PaymentStatus.FAILED)
        assert await uow.payments.add(failed)
        assert not await uow.payments.transition(
            failed.id, frozenset({PaymentStatus.FAILED}), PaymentStatus.OPEN
        )
        await uow.commit()


@pytest.mark.postgres
async def test_concurrent_scans_check_a_ticket_in_once(pg: SqlAlchemyPersistence) -> None:
    booking = await _booking(pg)
    payment = _payment(booking, PaymentStatus.SUCCEEDED)
    order = Order.confirming(
        booking, order_id=uuid.uuid4(), payment_id=payment.id, created_at=START
    )
    ticket = Ticket(
        id=uuid.uuid4(),
        order_id=order.id,
        event_id=booking.event_id,
        ticket_type_id=booking.items[0].ticket_type_id,
        holder=booking.buyer,
        status=TicketStatus.VALID,
        token="signed",
        version=1,
        created_at=START,
    )
    async with pg.unit_of_work() as uow:
        assert await uow.payments.add(payment)
        assert await uow.orders.add(order)
        assert not await uow.orders.add(_with_new_id(order))  # same booking and payment
        await uow.tickets.add_many([ticket])
        await uow.commit()

    async def scan(gate: str) -> CheckIn:
        attempt = CheckIn(
            id=uuid.uuid4(),
            ticket_id=ticket.id,
            event_id=ticket.event_id,
            checked_in_at=START,
            scanned_by=gate,
        )
        async with pg.unit_of_work() as uow:
            stored = await uow.tickets.check_in(attempt)
            await asyncio.sleep(0.05)
            await uow.commit()
            return stored

    scans = await asyncio.gather(*(scan(f"gate-{n}") for n in range(5)))
    assert len({s.id for s in scans}) == 1

    refund = Refund(
        id=uuid.uuid4(),
        payment_id=payment.id,
        booking_id=booking.id,
        order_id=order.id,
        buyer=booking.buyer,
        amount=Money(booking.total.amount, "EUR"),
        reason=RefundReason.EVENT_CANCELLED,
        status=RefundStatus.PENDING,
        created_at=START,
    )
    async with pg.unit_of_work() as uow:
        assert await uow.refunds.add(refund)
        assert not await uow.refunds.add(_with_new_id(refund))
        assert await uow.refunds.find(payment.id, RefundReason.EVENT_CANCELLED) == refund
        await uow.commit()


def _with_new_id(value: Order | Refund) -> Order | Refund:
    return msgspec.structs.replace(value, id=uuid.uuid4())
