"""Refunds: customer cancellation before the cut-off, event cancellation by its organizer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.job import JobStatus
from eltiketi_core.domain.order import OrderStatus, TicketStatus
from eltiketi_core.errors import Conflict, Forbidden, NotFound
from tests.unit.usecases.conftest import ORGANIZER, STAFF, Sale, buyer


async def _paid_reference(sale: Sale, order_id: object) -> str:
    async with sale.kit.uow() as uow:
        order = await uow.orders.get(order_id)  # type: ignore[arg-type]
        assert order is not None
        payment = await uow.payments.get(order.payment_id)
    assert payment is not None and payment.provider_reference is not None
    return payment.provider_reference


async def test_a_customer_cancels_and_gets_the_money_and_stock_back(sale: Sale) -> None:
    alice = buyer()
    order_id = await sale.buy(alice, 2)
    await sale.kit.drain()
    assert await sale.levels() == (100, 0, 2)

    view = await sale.kit.core.orders.cancel(alice, order_id)
    assert view.order.status is OrderStatus.REFUNDED
    assert all(t.status is TicketStatus.VOID for t in view.tickets)
    await sale.kit.drain()
    assert await sale.levels() == (100, 0, 0)
    assert sale.kit.gateway.refunded_amount(await _paid_reference(sale, order_id)) == 9000
    assert [n.reason for n in sale.kit.notifier.refunds] == ["customer_cancelled"]

    await sale.kit.core.orders.cancel(alice, order_id)  # twice: nothing more happens
    await sale.kit.drain()
    assert sale.kit.gateway.refunded_amount(await _paid_reference(sale, order_id)) == 9000
    assert await sale.levels() == (100, 0, 0)


async def test_refund_before_the_sale_was_counted_still_balances(sale: Sale) -> None:
    alice = buyer()
    order_id = await sale.buy(alice, 2)
    await sale.kit.core.orders.cancel(alice, order_id)  # before OrderCreated was handled
    await sale.kit.drain()
    assert await sale.levels() == (100, 0, 0)


async def test_cancellation_closes_before_the_event(sale: Sale) -> None:
    alice = buyer()
    order_id = await sale.buy(alice)
    sale.clock.advance(timedelta(days=29, hours=1))  # 23 h before the start
    with pytest.raises(Conflict) as err:
        await sale.kit.core.orders.cancel(alice, order_id)
    assert err.value.code == "cancellation_closed"


async def test_others_cannot_cancel_my_order(sale: Sale) -> None:
    order_id = await sale.buy(buyer("alice"))
    with pytest.raises(NotFound):
        await sale.kit.core.orders.cancel(buyer("bob"), order_id)


async def test_an_event_cancelled_twice_refunds_every_order_once(sale: Sale) -> None:
    orders = [await sale.buy(buyer(f"b{i}"), 2) for i in range(3)]
    held = await sale.hold(buyer("late"), 1)
    other = Principal(subject="oscar", roles=frozenset({"organizer"}))
    with pytest.raises(NotFound):  # not a member of the event's organization
        await sale.kit.core.cancellation.cancel(other, sale.event.id)
    with pytest.raises(Forbidden):  # a door member
        await sale.kit.core.cancellation.cancel(STAFF, sale.event.id)

    first = await sale.kit.core.cancellation.cancel(ORGANIZER, sale.event.id)
    second = await sale.kit.core.cancellation.cancel(ORGANIZER, sale.event.id)
    # The request only decides; the refunds are the background job's.
    assert second == first
    assert (first.status, first.orders_remaining, first.orders_refunded) == (
        JobStatus.QUEUED,
        3,
        0,
    )
    assert (await sale.kit.core.bookings.get(buyer("late"), held.id)).status.value == "held"

    assert await sale.kit.run_jobs() > 0
    done = await sale.kit.core.jobs.get(ORGANIZER, first.id)
    assert (done.status, done.orders_refunded, done.holds_released, done.orders_remaining) == (
        JobStatus.DONE,
        3,
        1,
        0,
    )
    assert await sale.kit.core.cancellation.cancel(ORGANIZER, sale.event.id) == done
    assert await sale.kit.run_jobs() == 0  # a done job is never run again
    await sale.kit.drain()
    for order_id in orders:
        assert sale.kit.gateway.refunded_amount(await _paid_reference(sale, order_id)) == 9000
    assert len(sale.kit.notifier.refunds) == 3
    assert await sale.levels() == (100, 0, 0)
    assert (await sale.kit.core.bookings.get(buyer("late"), held.id)).status.value == "cancelled"


async def test_a_payment_in_flight_when_the_event_is_cancelled_is_refunded(sale: Sale) -> None:
    alice = buyer()
    booking = await sale.hold(alice)
    payment = await sale.pay(alice, booking)
    await sale.kit.core.cancellation.cancel(ORGANIZER, sale.event.id)
    with pytest.raises(Conflict) as err:
        await sale.kit.core.settlement.confirm(alice, booking.id, payment.id)
    assert err.value.code == "hold_lost_refunded"
    await sale.kit.drain()
    assert payment.provider_reference is not None
    assert sale.kit.gateway.refunded_amount(payment.provider_reference) == 4500
