"""A payment's fate is decided once: the booking's kept order, or one refund (issue 13).

Each test is one way money went wrong before payments were one state machine of
compare-and-sets: a declined payment paid later and kept, a hold-lost refund settled again
into free tickets, two refunds of one payment, a failed payment still payable after its
hold ended.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from uuid import UUID

import msgspec
import pytest

from eltiketi_adapters.memory import FakePaymentGateway, InMemoryTicketing
from eltiketi_core.domain.booking import Booking, BookingStatus
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.order import OrderStatus, TicketStatus
from eltiketi_core.domain.payment import Payment, PaymentStatus, RefundReason, RefundStatus
from eltiketi_core.errors import (
    Conflict,
    DuplicatePaymentRefunded,
    HoldLostRefunded,
    PaymentIncomplete,
    ValidationFailed,
)
from eltiketi_core.ports.payments import (
    GatewayPaymentStatus,
    PaymentSession,
    VerifiedPayment,
    WebhookKind,
)
from eltiketi_core.usecases.refunds import request_refund
from tests.unit.usecases.conftest import ORGANIZER, Sale, SaleFactory, buyer, make_sale
from tests.unit.usecases.legacy_payments import open_second_payment


async def webhook(
    sale: Sale, kind: WebhookKind, reference: str, event_id: str | None = None
) -> None:
    gateway = sale.kit.gateway
    body, headers = gateway.signed_webhook(kind, reference, event_id=event_id)
    await sale.kit.core.settlement.handle_webhook(gateway.provider, body, headers)


async def declined(sale: Sale, who: Principal, booking: Booking) -> Payment:
    """A payment whose card was declined, and the gateway said so (the row says failed)."""
    payment = await sale.pay(who, booking, approve=False)
    assert payment.provider_reference is not None
    sale.kit.gateway.decline(payment.provider_reference)
    await webhook(sale, WebhookKind.PAYMENT_FAILED, payment.provider_reference)
    assert (await stored(sale, payment.id)).status is PaymentStatus.FAILED
    return payment


async def stored(sale: Sale, payment_id: UUID) -> Payment:
    async with sale.kit.uow() as uow:
        payment = await uow.payments.get(payment_id)
    assert payment is not None
    return payment


def ref(payment: Payment) -> str:
    assert payment.provider_reference is not None
    return payment.provider_reference


# -- a second payment -----------------------------------------------------------------------


async def test_a_second_payment_retires_the_declined_first_one_at_the_gateway(
    sale: Sale,
) -> None:
    alice = buyer()
    booking = await sale.hold(alice)
    first = await declined(sale, alice, booking)

    second = await sale.kit.core.payments.start(alice, booking.id)

    assert second.id != first.id
    assert sale.kit.gateway.cancelled == [ref(first)]
    assert (await stored(sale, first.id)).status is PaymentStatus.CANCELLED
    with pytest.raises(Conflict):  # Stripe would refuse to charge a cancelled intent
        sale.kit.gateway.approve(ref(first), after_decline=True)


async def test_a_declined_payment_that_was_paid_after_all_is_settled_instead_of_a_second(
    sale: Sale,
) -> None:
    alice = buyer()
    booking = await sale.hold(alice, 2)
    first = await declined(sale, alice, booking)
    sale.kit.gateway.approve(ref(first), after_decline=True)  # another card, no webhook yet

    answer = await sale.kit.core.payments.start(alice, booking.id)

    assert answer.id == first.id
    assert answer.status is PaymentStatus.SUCCEEDED
    assert sale.kit.gateway.started == [ref(first)]  # no second payment at the gateway
    confirmation = await sale.kit.core.settlement.confirm(alice, booking.id, first.id)
    assert not confirmation.created
    assert confirmation.order.payment_id == first.id
    await sale.kit.drain()
    assert await sale.levels() == (100, 0, 2)


class StillProcessing(FakePaymentGateway):
    """Stripe refuses to cancel a PaymentIntent that is ``processing`` (a bank debit on its
    way): cancel reports it pending, as the Stripe adapter does."""

    async def cancel(self, provider_reference: str) -> VerifiedPayment:
        verified = await self.verify(provider_reference)
        return msgspec.structs.replace(verified, status=GatewayPaymentStatus.PENDING)


async def test_a_payment_still_processing_blocks_a_second_one() -> None:
    sale = await make_sale(InMemoryTicketing(gateway=StillProcessing()))
    alice = buyer()
    booking = await sale.hold(alice)
    first = await declined(sale, alice, booking)

    with pytest.raises(Conflict) as refused:
        await sale.kit.core.payments.start(alice, booking.id)

    assert refused.value.code == "payment_in_progress"
    assert sale.kit.gateway.started == [ref(first)]


class HoldEndsDuringStart(FakePaymentGateway):
    """The buyer releases the hold while the gateway is still creating the payment."""

    during_start: Callable[[], Awaitable[object]] | None = None

    async def start(
        self, payment: Payment, booking: Booking, *, expires_at: datetime
    ) -> PaymentSession:
        session = await super().start(payment, booking, expires_at=expires_at)
        if self.during_start is not None:
            await self.during_start()
        return session


async def test_a_payment_started_while_its_hold_ends_is_retired_at_once() -> None:
    gateway = HoldEndsDuringStart()
    sale = await make_sale(InMemoryTicketing(gateway=gateway))
    alice = buyer()
    booking = await sale.hold(alice)
    gateway.during_start = lambda: sale.kit.core.bookings.release(alice, booking.id)

    with pytest.raises(Conflict) as refused:
        await sale.kit.core.payments.start(alice, booking.id)
    await sale.kit.drain()

    assert refused.value.code == "booking_not_held"
    [reference] = gateway.started
    assert gateway.cancelled == [reference]  # the buyer cannot pay for a released hold
    async with sale.kit.uow() as uow:
        [payment] = await uow.payments.for_booking(booking.id)
    assert payment.status is PaymentStatus.CANCELLED


async def test_a_second_success_for_a_paid_booking_is_refunded_once(sale: Sale) -> None:
    """Two payments of one booking both payable (an earlier version opened the second
    without retiring the first): the one that comes second is refunded in full, once."""
    alice = buyer()
    booking = await sale.hold(alice)
    first = await declined(sale, alice, booking)
    second = await legacy_second_payment(sale, booking)
    sale.kit.gateway.approve(ref(second))
    order = (await sale.kit.core.settlement.confirm(alice, booking.id, second.id)).order

    sale.kit.gateway.approve(ref(first), after_decline=True)
    for _ in range(2):  # the webhook, delivered twice, and the buyer's own confirmation
        await webhook(sale, WebhookKind.PAYMENT_SUCCEEDED, ref(first), event_id="evt_first")
    with pytest.raises(DuplicatePaymentRefunded) as refunded:
        await sale.kit.core.settlement.confirm(alice, booking.id, first.id)
    assert refunded.value.extra == {"order_id": str(order.id)}
    await sale.kit.drain()

    async with sale.kit.uow() as uow:
        refunds = await uow.refunds.for_payment(first.id)
        assert await uow.refunds.for_payment(second.id) == []
        kept = await uow.orders.for_booking(booking.id)
    assert kept is not None and (kept.id, kept.status) == (order.id, OrderStatus.CONFIRMED)
    assert [(r.reason, r.order_id, r.status) for r in refunds] == [
        (RefundReason.DUPLICATE_PAYMENT, None, RefundStatus.SUCCEEDED)
    ]
    assert (await stored(sale, first.id)).status is PaymentStatus.REFUNDED
    assert (await stored(sale, second.id)).status is PaymentStatus.SUCCEEDED
    assert sale.kit.gateway.refunded_amount(ref(first)) == 4500
    assert sale.kit.gateway.refunded_amount(ref(second)) == 0
    assert [n.reason for n in sale.kit.notifier.refunds] == ["duplicate_payment"]


async def test_a_payment_that_succeeded_without_a_decision_is_decided_when_heard_again(
    sale: Sale,
) -> None:
    """An earlier version marked a duplicate payment succeeded and kept the money (no order,
    no refund): the next success notice for it refunds it."""
    alice = buyer()
    booking = await sale.hold(alice)
    first = await declined(sale, alice, booking)
    second = await legacy_second_payment(sale, booking)
    sale.kit.gateway.approve(ref(second))
    await sale.kit.core.settlement.confirm(alice, booking.id, second.id)
    sale.kit.gateway.approve(ref(first), after_decline=True)
    async with sale.kit.uow() as uow:  # what the earlier version left behind
        assert await uow.payments.transition(
            first.id, frozenset({PaymentStatus.FAILED}), PaymentStatus.SUCCEEDED
        )
        await uow.commit()

    await webhook(sale, WebhookKind.PAYMENT_SUCCEEDED, ref(first))
    await sale.kit.drain()

    assert (await stored(sale, first.id)).status is PaymentStatus.REFUNDED
    assert sale.kit.gateway.refunded_amount(ref(first)) == 4500


async def legacy_second_payment(sale: Sale, booking: Booking) -> Payment:
    kit = sale.kit
    return await open_second_payment(kit.uow, kit.gateway, kit.ids, kit.clock, booking)


# -- a refunded payment stays refunded ---------------------------------------------------------


async def hold_lost(sale_factory: SaleFactory) -> tuple[Sale, Principal, Booking, Payment]:
    """Alice paid in her hold's last second, was heard of after Bob took the last seat:
    her payment was refunded as hold_lost."""
    sale = await sale_factory(capacity=1)
    alice, bob = buyer("alice"), buyer("bob")
    booking = await sale.hold(alice)
    payment = await sale.pay(alice, booking)  # approved at the gateway, nobody told yet
    sale.clock.advance(timedelta(minutes=16))
    bobs = await sale.hold(bob)  # releases alice's expired hold on the way
    await sale.kit.drain()  # the expiry handler finds the money, the seat is gone: refund
    with pytest.raises(HoldLostRefunded):
        await sale.kit.core.settlement.confirm(alice, booking.id, payment.id)
    await sale.kit.core.bookings.release(bob, bobs.id)  # the seat comes back
    await sale.kit.drain()
    return sale, alice, booking, payment


async def test_a_hold_lost_refund_never_turns_into_free_tickets(
    sale_factory: SaleFactory,
) -> None:
    sale, alice, booking, payment = await hold_lost(sale_factory)

    with pytest.raises(HoldLostRefunded):  # asking again, with the seat back
        await sale.kit.core.settlement.confirm(alice, booking.id, payment.id)
    await webhook(sale, WebhookKind.PAYMENT_SUCCEEDED, ref(payment))  # notice delivered again
    await sale.kit.drain()

    async with sale.kit.uow() as uow:
        assert await uow.orders.for_booking(booking.id) is None
        assert (await uow.bookings.get(booking.id)).status is BookingStatus.EXPIRED  # type: ignore[union-attr]
        refunds = await uow.refunds.for_payment(payment.id)
    assert [r.reason for r in refunds] == [RefundReason.HOLD_LOST]
    assert (await stored(sale, payment.id)).status is PaymentStatus.REFUNDED
    assert await sale.levels() == (1, 0, 0)
    assert sale.kit.gateway.refunded_amount(ref(payment)) == 4500


async def test_a_payment_is_refunded_once_whatever_the_reasons(
    sale_factory: SaleFactory,
) -> None:
    sale, _, _, payment = await hold_lost(sale_factory)
    await webhook(sale, WebhookKind.PAYMENT_SUCCEEDED, ref(payment))  # a late duplicate notice

    await sale.kit.core.cancellation.cancel(ORGANIZER, sale.event.id)
    await sale.kit.run_jobs()  # the cancellation's background job
    await sale.kit.drain()  # strict: a refund the gateway refused would raise here

    async with sale.kit.uow() as uow:
        refunds = await uow.refunds.for_payment(payment.id)
    assert [(r.reason, r.status) for r in refunds] == [
        (RefundReason.HOLD_LOST, RefundStatus.SUCCEEDED)
    ]
    assert sale.kit.bus.dead_letters == []
    assert sale.kit.gateway.refunded_amount(ref(payment)) == 4500


# -- the end of a hold ----------------------------------------------------------------------------


@pytest.mark.parametrize("end", ["expiry", "release", "event cancelled"])
async def test_the_end_of_a_hold_retires_a_failed_payment_at_the_gateway(
    sale: Sale, end: str
) -> None:
    alice = buyer()
    booking = await sale.hold(alice)
    payment = await declined(sale, alice, booking)

    if end == "expiry":
        await sale.kit.expire_holds()
    elif end == "release":
        await sale.kit.core.bookings.release(alice, booking.id)
    else:
        await sale.kit.core.cancellation.cancel(ORGANIZER, sale.event.id)
        await sale.kit.run_jobs()  # the cancellation's background job
    await sale.kit.drain()

    assert sale.kit.gateway.cancelled == [ref(payment)]
    assert (await stored(sale, payment.id)).status is PaymentStatus.CANCELLED
    with pytest.raises(Conflict):
        sale.kit.gateway.approve(ref(payment), after_decline=True)


async def test_a_failed_payment_paid_before_its_hold_ended_is_settled_then(sale: Sale) -> None:
    alice = buyer()
    booking = await sale.hold(alice)
    payment = await declined(sale, alice, booking)
    sale.kit.gateway.approve(ref(payment), after_decline=True)  # its notice is lost

    await sale.kit.expire_holds()
    await sale.kit.drain()

    async with sale.kit.uow() as uow:
        order = await uow.orders.for_booking(booking.id)
    assert order is not None and order.payment_id == payment.id  # stock was still there
    assert (await stored(sale, payment.id)).status is PaymentStatus.SUCCEEDED


# -- what the payment row says ----------------------------------------------------------------------


async def test_a_cancelled_order_leaves_its_payment_refunded(sale: Sale) -> None:
    alice = buyer()
    order_id = await sale.buy(alice)
    async with sale.kit.uow() as uow:
        order = await uow.orders.get(order_id)
    assert order is not None and order.payment_id is not None
    assert (await stored(sale, order.payment_id)).status is PaymentStatus.SUCCEEDED

    await sale.kit.core.orders.cancel(alice, order_id)
    await sale.kit.drain()

    assert (await stored(sale, order.payment_id)).status is PaymentStatus.REFUNDED
    again = await sale.kit.core.settlement.confirm(alice, order.booking_id, order.payment_id)
    assert again.order.id == order_id and again.order.status is OrderStatus.REFUNDED


async def test_a_payment_that_never_succeeded_cannot_be_refunded(sale: Sale) -> None:
    alice = buyer()
    booking = await sale.hold(alice)
    payment = await sale.pay(alice, booking, approve=False)
    with pytest.raises(PaymentIncomplete):
        await sale.kit.core.settlement.confirm(alice, booking.id, payment.id)
    async with sale.kit.uow() as uow:
        refund = await request_refund(
            uow,
            sale.kit.ids,
            sale.clock.now(),
            payment=payment,
            order_id=None,
            contact=booking.contact,
            reason=RefundReason.HOLD_LOST,
        )
        await uow.commit()
    assert refund is None
    async with sale.kit.uow() as uow:
        assert await uow.refunds.for_payment(payment.id) == []


# -- free tickets -----------------------------------------------------------------------------------


async def test_a_free_booking_confirms_without_a_payment_step(sale_factory: SaleFactory) -> None:
    sale = await sale_factory(price=0)
    alice = buyer()
    booking = await sale.hold(alice, 2)
    assert booking.total.amount == 0

    confirmation = await sale.kit.core.settlement.confirm(alice, booking.id, None)
    again = await sale.kit.core.settlement.confirm(alice, booking.id, None)
    await sale.kit.drain()

    assert confirmation.created and not again.created
    assert again.order.id == confirmation.order.id
    assert confirmation.order.payment_id is None
    assert sale.kit.gateway.payments == {}  # no gateway was called
    async with sale.kit.uow() as uow:
        tickets = await uow.tickets.for_order(confirmation.order.id)
        assert await uow.payments.for_booking(booking.id) == []
    assert [t.status for t in tickets] == [TicketStatus.VALID] * 2
    assert await sale.levels() == (100, 0, 2)
    assert len(sale.kit.notifier.tickets) == 1


async def test_a_free_booking_needs_no_payment_and_a_paid_one_needs_its_payment(
    sale_factory: SaleFactory,
) -> None:
    free, paid = await sale_factory(price=0), await sale_factory()
    alice = buyer()
    free_booking, paid_booking = await free.hold(alice), await paid.hold(alice)

    with pytest.raises(Conflict) as no_payment:
        await free.kit.core.payments.start(alice, free_booking.id)
    assert no_payment.value.code == "payment_not_required"
    with pytest.raises(ValidationFailed) as payment_required:
        await paid.kit.core.settlement.confirm(alice, paid_booking.id, None)
    assert payment_required.value.code == "payment_required"
    assert paid.kit.gateway.payments == {}


async def test_a_free_hold_that_ended_does_not_confirm(sale_factory: SaleFactory) -> None:
    sale = await sale_factory(price=0)
    alice = buyer()
    expired, released = await sale.hold(alice), await sale.hold(alice)
    await sale.kit.core.bookings.release(alice, released.id)
    sale.clock.advance(timedelta(minutes=16))  # not swept yet: expired all the same

    for booking in (expired, released):
        with pytest.raises(Conflict) as refused:
            await sale.kit.core.settlement.confirm(alice, booking.id, None)
        assert refused.value.code == "booking_not_held"


async def test_a_free_order_is_cancelled_and_refunded_without_money(
    sale_factory: SaleFactory,
) -> None:
    sale = await sale_factory(price=0)
    alice = buyer()
    booking = await sale.hold(alice)
    order = (await sale.kit.core.settlement.confirm(alice, booking.id, None)).order
    await sale.kit.drain()

    await sale.kit.core.cancellation.cancel(ORGANIZER, sale.event.id)
    await sale.kit.run_jobs()  # the cancellation's background job
    await sale.kit.drain()

    async with sale.kit.uow() as uow:
        stored_order = await uow.orders.get(order.id)
        tickets = await uow.tickets.for_order(order.id)
    assert stored_order is not None and stored_order.status is OrderStatus.REFUNDED
    assert [t.status for t in tickets] == [TicketStatus.VOID]
    assert await sale.levels() == (100, 0, 0)
    assert sale.kit.gateway.payments == {}
    assert sale.kit.notifier.refunds == []
