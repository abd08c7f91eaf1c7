"""Payments, orders and refunds: the money records and their uniqueness rules."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

import msgspec
import pytest

from eltiketi_core.domain.order import Order, OrderStatus, StockState
from eltiketi_core.domain.payment import PaymentStatus, RefundReason, RefundStatus
from eltiketi_core.errors import Conflict
from eltiketi_core.ports.uow import UnitOfWorkFactory
from tests.contract.builders import T0, World, committed, new_order, new_payment, new_refund

OPEN = frozenset({PaymentStatus.OPEN})

# -- payments ---------------------------------------------------------------------------------


async def test_one_open_payment_per_booking(uow_factory: UnitOfWorkFactory, world: World) -> None:
    booking = await world.booking()
    first = new_payment(booking)
    second = new_payment(booking)
    async with uow_factory() as uow:
        assert await uow.payments.add(first)
        assert not await uow.payments.add(second)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.payments.get(second.id) is None
        assert await uow.payments.open_for_booking(booking.id) == first


async def test_concurrent_payment_starts_open_one(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    booking = await world.booking()

    async def attempt() -> bool:
        async with uow_factory() as uow:
            added = await uow.payments.add(new_payment(booking))
            await uow.commit()
        return added

    assert sum(await asyncio.gather(*(attempt() for _ in range(20)))) == 1


async def test_a_closed_payment_makes_room_for_a_new_one(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    booking = await world.booking()
    failed = await world.payment(booking)
    retry = new_payment(booking, created_at=T0 + timedelta(seconds=5))
    async with uow_factory() as uow:
        assert await uow.payments.transition(failed.id, OPEN, PaymentStatus.FAILED)
        assert await uow.payments.add(retry)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.payments.open_for_booking(booking.id) == retry
        assert [p.id for p in await uow.payments.for_booking(booking.id)] == [retry.id, failed.id]


async def test_payments_that_are_not_open_do_not_count(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    booking = await world.booking()
    await world.payment(booking)
    async with uow_factory() as uow:
        assert await uow.payments.add(new_payment(booking, status=PaymentStatus.CANCELLED))
        await uow.commit()


async def test_update_stores_reference_urls_and_status(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    payment = await world.payment()
    started = msgspec.structs.replace(
        payment,
        provider_reference="fake_pay_1",
        checkout_url="https://pay.example/fake_pay_1",
        client_secret="secret_1",
    )
    async with uow_factory() as uow:
        assert await uow.payments.by_reference("fake", "fake_pay_1") is None
        await uow.payments.update(started)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.payments.get(payment.id) == started
        assert await uow.payments.by_reference("fake", "fake_pay_1") == started
        assert await uow.payments.by_reference("stripe", "fake_pay_1") is None
        await uow.payments.update(started.with_status(PaymentStatus.SUCCEEDED))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.payments.open_for_booking(payment.booking_id) is None


async def test_a_provider_reference_belongs_to_one_payment(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    await world.payment(reference="fake_pay_same")
    other = new_payment(await world.booking(), reference="fake_pay_same")
    with pytest.raises(Conflict):
        await committed(uow_factory, lambda uow: uow.payments.add(other))


async def test_payment_transition_is_compare_and_set(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    payment = await world.payment()
    async with uow_factory() as uow:
        assert not await uow.payments.transition(
            payment.id, frozenset({PaymentStatus.FAILED}), PaymentStatus.SUCCEEDED
        )
        assert await uow.payments.transition(
            payment.id,
            frozenset({PaymentStatus.OPEN, PaymentStatus.FAILED}),
            PaymentStatus.SUCCEEDED,
        )
        assert not await uow.payments.transition(payment.id, OPEN, PaymentStatus.CANCELLED)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.payments.get(payment.id)
        assert stored == payment.with_status(PaymentStatus.SUCCEEDED)


async def test_a_payment_lives_through_succeeded_then_refunded(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    payment = await world.payment(status=PaymentStatus.FAILED)
    succeeded = frozenset({PaymentStatus.SUCCEEDED})
    async with uow_factory() as uow:
        assert not await uow.payments.transition(payment.id, succeeded, PaymentStatus.REFUNDED)
        assert await uow.payments.transition(
            payment.id, frozenset({PaymentStatus.FAILED}), PaymentStatus.SUCCEEDED
        )
        assert await uow.payments.transition(payment.id, succeeded, PaymentStatus.REFUNDED)
        assert not await uow.payments.transition(payment.id, succeeded, PaymentStatus.REFUNDED)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.payments.get(payment.id) == payment.with_status(PaymentStatus.REFUNDED)
        assert await uow.payments.open_for_booking(payment.booking_id) is None


async def test_concurrent_decisions_on_one_payment_let_one_win(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    """Two settlements deciding one payment at once: the loser waits for the winner's
    transaction and sees that the payment changed, so its fate is decided once."""
    payment = await world.payment(status=PaymentStatus.SUCCEEDED)

    async def decide() -> bool:
        async with uow_factory() as uow:
            won = await uow.payments.transition(
                payment.id, frozenset({PaymentStatus.SUCCEEDED}), PaymentStatus.REFUNDED
            )
            await asyncio.sleep(0.01)  # hold the change open while the others try
            await uow.commit()
        return won

    assert sum(await asyncio.gather(*(decide() for _ in range(8)))) == 1


async def test_reopening_never_makes_a_second_open_payment(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    booking = await world.booking()
    failed = await world.payment(booking, status=PaymentStatus.FAILED)
    await world.payment(booking)
    async with uow_factory() as uow:
        assert not await uow.payments.transition(
            failed.id, frozenset({PaymentStatus.FAILED}), PaymentStatus.OPEN
        )


# -- orders -----------------------------------------------------------------------------------


async def test_one_order_per_booking_and_per_payment(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    booking = await world.booking()
    payment = await world.payment(booking, status=PaymentStatus.SUCCEEDED)
    other_payment = await world.payment(booking, status=PaymentStatus.SUCCEEDED)
    other_booking = await world.booking()
    order = new_order(booking, payment)
    async with uow_factory() as uow:
        assert await uow.orders.add(order)
        assert not await uow.orders.add(new_order(booking, other_payment))  # same booking
        assert not await uow.orders.add(new_order(other_booking, payment))  # same payment
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.orders.get(order.id) == order
        assert await uow.orders.for_booking(booking.id) == order
        assert await uow.orders.for_booking(other_booking.id) is None


async def test_free_orders_have_no_payment_and_are_unique_per_booking(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    first, second = await world.booking(), await world.booking()
    free = [_without_payment(new_order(b, await world.payment(b))) for b in (first, second)]
    async with uow_factory() as uow:
        for order in free:  # NULL payment ids never collide
            assert await uow.orders.add(order)
        again = msgspec.structs.replace(free[0], id=uuid4())
        assert not await uow.orders.add(again)  # one order per booking still
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.orders.for_booking(first.id) == free[0]
        assert await uow.orders.get(free[1].id) == free[1]


def _without_payment(order: Order) -> Order:
    return msgspec.structs.replace(order, payment_id=None)


async def test_concurrent_confirmations_create_one_order(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    booking = await world.booking()
    payment = await world.payment(booking, status=PaymentStatus.SUCCEEDED)

    async def attempt() -> bool:
        async with uow_factory() as uow:
            added = await uow.orders.add(new_order(booking, payment))
            await uow.commit()
        return added

    assert sum(await asyncio.gather(*(attempt() for _ in range(20)))) == 1


async def test_orders_of_a_buyer_newest_first_with_paging(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    orders = [await world.order(created_at=T0 + timedelta(minutes=i)) for i in range(5)]
    await world.order(buyer="bob")
    async with uow_factory() as uow:
        everything = await uow.orders.list_for_buyer("alice")
        page = await uow.orders.list_for_buyer("alice", limit=2, offset=1)
    assert [o.id for o in everything] == [o.id for o in reversed(orders)]
    assert [o.id for o in page] == [orders[3].id, orders[2].id]


async def test_orders_of_an_event_filtered_by_status(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    ticket_type = await world.ticket_type(capacity=100)
    kept = await world.order(await world.booking(ticket_type), created_at=T0)
    refunded = await world.order(await world.booking(ticket_type), created_at=T0 + timedelta(1))
    await world.order()  # another event
    async with uow_factory() as uow:
        assert await uow.orders.transition(refunded.id, OrderStatus.CONFIRMED, OrderStatus.REFUNDED)
        await uow.commit()
    async with uow_factory() as uow:
        event_id = ticket_type.event_id
        all_orders = await uow.orders.list_for_event(event_id)
        confirmed = await uow.orders.list_for_event(event_id, status=OrderStatus.CONFIRMED)
        gone = await uow.orders.list_for_event(event_id, status=OrderStatus.REFUNDED)
        limited = await uow.orders.list_for_event(event_id, limit=1)
    assert {o.id for o in all_orders} == {kept.id, refunded.id}
    assert [o.id for o in confirmed] == [kept.id]
    assert [o.id for o in gone] == [refunded.id]
    assert len(limited) == 1


async def test_order_transition_and_stock_moves_are_compare_and_set(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    order = await world.order()
    async with uow_factory() as uow:
        assert not await uow.orders.move_stock(order.id, StockState.SOLD, StockState.RELEASED)
        assert await uow.orders.move_stock(order.id, StockState.HELD, StockState.SOLD)
        assert not await uow.orders.move_stock(order.id, StockState.HELD, StockState.SOLD)
        assert await uow.orders.transition(order.id, OrderStatus.CONFIRMED, OrderStatus.REFUNDED)
        assert not await uow.orders.transition(
            order.id, OrderStatus.CONFIRMED, OrderStatus.REFUNDED
        )
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.orders.get(order.id)
    assert stored == msgspec.structs.replace(
        order, status=OrderStatus.REFUNDED, stock=StockState.SOLD
    )


# -- refunds ----------------------------------------------------------------------------------


async def test_one_refund_per_payment_whatever_the_reason(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    # Issue 13: a payment refunded as hold_lost must not get an event_cancelled refund too
    # (the gateway refuses the second one and its event is dead-lettered for ever).
    order = await world.order()
    assert order.payment_id is not None
    async with uow_factory() as uow:
        payment = await uow.payments.get(order.payment_id)
    assert payment is not None
    first = new_refund(payment, RefundReason.CUSTOMER_CANCELLED, order=order)
    again = new_refund(payment, RefundReason.CUSTOMER_CANCELLED, order=order)
    other_reason = new_refund(
        payment, RefundReason.EVENT_CANCELLED, created_at=T0 + timedelta(seconds=1)
    )
    async with uow_factory() as uow:
        assert await uow.refunds.add(first)
        assert not await uow.refunds.add(again)
        assert not await uow.refunds.add(other_reason)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.refunds.get(first.id) == first
        assert await uow.refunds.get(again.id) is None
        assert await uow.refunds.get(other_reason.id) is None
        assert await uow.refunds.find(payment.id, RefundReason.CUSTOMER_CANCELLED) == first
        assert await uow.refunds.find(payment.id, RefundReason.EVENT_CANCELLED) is None
        assert await uow.refunds.for_payment(payment.id) == [first]


async def test_refunds_of_different_payments_do_not_collide(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    booking = await world.booking()
    paid_twice = [
        await world.payment(booking, status=PaymentStatus.SUCCEEDED, created_at=T0),
        await world.payment(
            booking, status=PaymentStatus.SUCCEEDED, created_at=T0 + timedelta(seconds=1)
        ),
    ]
    refunds = [new_refund(p, RefundReason.DUPLICATE_PAYMENT) for p in paid_twice]
    async with uow_factory() as uow:
        for refund in refunds:
            assert await uow.refunds.add(refund)
        await uow.commit()
    async with uow_factory() as uow:
        for payment, refund in zip(paid_twice, refunds, strict=True):
            assert await uow.refunds.for_payment(payment.id) == [refund]


@pytest.mark.parametrize("reasons", ["same", "different"])
async def test_concurrent_refund_decisions_write_one(
    uow_factory: UnitOfWorkFactory, world: World, reasons: str
) -> None:
    payment = await world.payment(status=PaymentStatus.SUCCEEDED)
    choices = list(RefundReason)

    async def attempt(n: int) -> bool:
        reason = RefundReason.HOLD_LOST if reasons == "same" else choices[n % len(choices)]
        async with uow_factory() as uow:
            added = await uow.refunds.add(new_refund(payment, reason))
            await uow.commit()
        return added

    assert sum(await asyncio.gather(*(attempt(n) for n in range(20)))) == 1


async def test_refund_update_records_the_outcome(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    payment = await world.payment(status=PaymentStatus.SUCCEEDED)
    refund = new_refund(payment, RefundReason.HOLD_LOST)
    done = msgspec.structs.replace(
        refund, status=RefundStatus.SUCCEEDED, provider_reference="fake_re_1"
    )
    async with uow_factory() as uow:
        await uow.refunds.add(refund)
        await uow.refunds.update(done)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.refunds.get(refund.id) == done
