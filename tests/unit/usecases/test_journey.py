"""The seed journey through the core, step by step, and its failure paths."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from eltiketi_core.domain.booking import BookingStatus
from eltiketi_core.domain.order import StockState
from eltiketi_core.errors import (
    AlreadyCheckedIn,
    HoldLostRefunded,
    InvalidTicket,
    NotFound,
    PaymentIncomplete,
    PaymentMismatch,
    TicketVoid,
    WrongEvent,
)
from tests.unit.usecases.conftest import STAFF, Sale, buyer, make_sale


async def test_hold_pay_confirm_sell_notify_check_in(sale: Sale) -> None:
    alice = buyer("alice")
    core = sale.kit.core
    booking = await sale.hold(alice, 2)
    assert booking.status is BookingStatus.HELD
    assert booking.total.amount == 9000
    assert booking.expires_at == sale.clock.now() + timedelta(minutes=15)
    assert booking.contact.email == "alice@example.org"  # from the token's claims
    assert await sale.levels() == (100, 2, 0)

    payment = await sale.pay(alice, booking)
    confirmation = await core.settlement.confirm(alice, booking.id, payment.id)
    assert confirmation.created
    order = confirmation.order
    assert order.stock is StockState.HELD
    assert await sale.levels() == (100, 2, 0)  # step 14 happens in the consumer

    await sale.kit.drain()
    assert await sale.levels() == (100, 0, 2)
    [notice] = sale.kit.notifier.tickets
    assert notice.order.id == order.id
    assert len(notice.tickets) == 2
    assert {t.id for t in notice.tickets} == {
        t.id for t in (await core.orders.get(alice, order.id)).tickets
    }

    again = await core.settlement.confirm(alice, booking.id, payment.id)
    assert not again.created
    assert again.order.id == order.id

    token = notice.tickets[0].token
    admission = await core.checkins.check_in(STAFF, token, sale.event.id)
    assert admission.holder == "alice"
    assert admission.ticket_type_name == "Standing"
    with pytest.raises(AlreadyCheckedIn) as err:
        await core.checkins.check_in(STAFF, token, sale.event.id)
    assert err.value.extra["first_checked_in_at"] == admission.checked_in_at.isoformat()


async def test_confirming_before_paying_is_payment_incomplete(sale: Sale) -> None:
    alice = buyer()
    booking = await sale.hold(alice)
    payment = await sale.pay(alice, booking, approve=False)
    with pytest.raises(PaymentIncomplete) as err:
        await sale.kit.core.settlement.confirm(alice, booking.id, payment.id)
    assert err.value.code == "payment_incomplete"


async def test_a_declined_card_keeps_the_hold_and_makes_no_order(sale: Sale) -> None:
    alice = buyer()
    booking = await sale.hold(alice)
    payment = await sale.pay(alice, booking, approve=False)
    assert payment.provider_reference is not None
    sale.kit.gateway.decline(payment.provider_reference)
    with pytest.raises(PaymentIncomplete):
        await sale.kit.core.settlement.confirm(alice, booking.id, payment.id)
    assert (await sale.kit.core.bookings.get(alice, booking.id)).status is BookingStatus.HELD
    async with sale.kit.uow() as uow:
        assert await uow.orders.for_booking(booking.id) is None
    await sale.kit.drain()
    assert len(sale.kit.notifier.payment_problems) == 1
    retry = await sale.kit.core.payments.start(alice, booking.id)
    assert retry.id != payment.id  # a failed payment is no longer the open one


async def test_a_payment_of_another_booking_is_a_mismatch(sale: Sale) -> None:
    alice = buyer()
    mine = await sale.hold(alice)
    other = await sale.hold(alice)
    other_payment = await sale.pay(alice, other)
    with pytest.raises(PaymentMismatch):
        await sale.kit.core.settlement.confirm(alice, mine.id, other_payment.id)


async def test_paid_after_expiry_with_stock_left_is_confirmed(sale: Sale) -> None:
    alice = buyer()
    booking = await sale.hold(alice, 3)
    payment = await sale.pay(alice, booking)
    sale.clock.advance(timedelta(minutes=16))
    assert await sale.kit.core.sweeper.sweep() == 1
    assert await sale.levels() == (100, 0, 0)

    confirmation = await sale.kit.core.settlement.confirm(alice, booking.id, payment.id)
    assert confirmation.created
    assert await sale.levels() == (100, 3, 0)  # taken again
    await sale.kit.drain()
    assert await sale.levels() == (100, 0, 3)


async def test_paid_after_expiry_with_stock_gone_is_refunded_and_notified(sale_factory) -> None:  # type: ignore[no-untyped-def]
    sale: Sale = await sale_factory(capacity=2)
    alice, bob = buyer("alice"), buyer("bob")
    booking = await sale.hold(alice, 2)
    payment = await sale.pay(alice, booking)
    sale.clock.advance(timedelta(minutes=16))
    await sale.hold(bob, 2)  # releases alice's expired hold on the way
    assert (await sale.kit.core.bookings.get(alice, booking.id)).status is BookingStatus.EXPIRED

    with pytest.raises(HoldLostRefunded):
        await sale.kit.core.settlement.confirm(alice, booking.id, payment.id)
    assert await sale.levels() == (2, 2, 0)  # bob's hold only
    await sale.kit.drain()
    assert payment.provider_reference is not None
    assert sale.kit.gateway.refunded_amount(payment.provider_reference) == 9000
    [notice] = sale.kit.notifier.refunds
    assert notice.reason == "hold_lost"
    async with sale.kit.uow() as uow:
        assert await uow.orders.for_booking(booking.id) is None
    # asking again refunds nothing twice
    with pytest.raises(HoldLostRefunded):
        await sale.kit.core.settlement.confirm(alice, booking.id, payment.id)
    await sale.kit.drain()
    assert sale.kit.gateway.refunded_amount(payment.provider_reference) == 9000


async def test_confirmation_and_expiry_racing_have_one_winner(sale_factory) -> None:  # type: ignore[no-untyped-def]
    for _ in range(20):
        sale: Sale = await sale_factory(capacity=1)
        alice = buyer()
        booking = await sale.hold(alice)
        payment = await sale.pay(alice, booking)
        sale.clock.advance(timedelta(minutes=15))
        results = await asyncio.gather(
            sale.kit.core.settlement.confirm(alice, booking.id, payment.id),
            sale.kit.core.sweeper.sweep(),
            sale.kit.core.settlement.confirm(alice, booking.id, payment.id),
            return_exceptions=True,
        )
        created = [r for r in results if hasattr(r, "created") and r.created]
        assert len(created) == 1, results
        await sale.kit.drain()
        capacity, held, sold = await sale.levels()
        assert (held, sold) == (0, 1)
        async with sale.kit.uow() as uow:
            assert len(await uow.tickets.for_order(created[0].order.id)) == 1


async def test_tickets_fail_check_in_with_their_codes(sale: Sale) -> None:
    alice = buyer()
    order_id = await sale.buy(alice)
    await sale.kit.drain()
    [notice] = sale.kit.notifier.tickets
    token = notice.tickets[0].token
    core = sale.kit.core
    with pytest.raises(InvalidTicket):
        await core.checkins.check_in(STAFF, token[:-3] + "abc", sale.event.id)
    with pytest.raises(NotFound):  # no such event (a ticket type's id)
        await core.checkins.check_in(STAFF, token, sale.standing.id)
    later = await make_sale(sale.kit)  # another event of the same organization
    with pytest.raises(WrongEvent):
        await core.checkins.check_in(STAFF, token, later.event.id)
    await core.orders.cancel(alice, order_id)
    with pytest.raises(TicketVoid):
        await core.checkins.check_in(STAFF, token, sale.event.id)


async def test_fifty_scanners_at_once_admit_once(sale: Sale) -> None:
    await sale.buy(buyer())
    await sale.kit.drain()
    token = sale.kit.notifier.tickets[0].tickets[0].token
    results = await asyncio.gather(
        *(sale.kit.core.checkins.check_in(STAFF, token, sale.event.id) for _ in range(50)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, AlreadyCheckedIn) for r in results if isinstance(r, Exception))
