"""Deciding refunds. A refund is a row, unique per (payment, reason), written in the
transaction that decides it; the money moves later through the outbox
(:class:`~eltiketi_core.usecases.handlers.RefundExecutor`), so deciding twice refunds once."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eltiketi_core.domain.booking import Contact
from eltiketi_core.domain.events import OrderRefunded, RefundRequested
from eltiketi_core.domain.order import Order, OrderStatus
from eltiketi_core.domain.payment import Payment, Refund, RefundReason, RefundStatus
from eltiketi_core.ports.clock import IdGenerator
from eltiketi_core.ports.uow import UnitOfWork


async def request_refund(
    uow: UnitOfWork,
    ids: IdGenerator,
    now: datetime,
    *,
    payment: Payment,
    order_id: UUID | None,
    contact: Contact,
    reason: RefundReason,
) -> Refund | None:
    """Write the refund and its ``RefundRequested``; None if this payment already has
    a refund for this reason."""
    refund = Refund(
        id=ids.new_id(),
        payment_id=payment.id,
        booking_id=payment.booking_id,
        order_id=order_id,
        buyer=payment.buyer,
        amount=payment.amount,
        reason=reason,
        status=RefundStatus.PENDING,
        created_at=now,
    )
    if not await uow.refunds.add(refund):
        return None
    uow.record(
        RefundRequested(
            id=ids.new_id(),
            occurred_at=now,
            booking_id=payment.booking_id,
            refund_id=refund.id,
            payment_id=payment.id,
            order_id=order_id,
            buyer=payment.buyer,
            contact=contact,
            amount=payment.amount,
            reason=reason.value,
        )
    )
    return refund


async def refund_order(
    uow: UnitOfWork, ids: IdGenerator, now: datetime, order: Order, reason: RefundReason
) -> bool:
    """Void the order's tickets, mark it refunded and request the money back.

    False if the order was no longer confirmed (someone else refunded it).
    The stock goes back when the inventory handler sees ``OrderRefunded``.
    """
    if not await uow.orders.transition(order.id, OrderStatus.CONFIRMED, OrderStatus.REFUNDED):
        return False
    await uow.tickets.void_for_order(order.id)
    uow.record(
        OrderRefunded(
            id=ids.new_id(),
            occurred_at=now,
            booking_id=order.booking_id,
            order_id=order.id,
            event_id=order.event_id,
            items=order.items,
            reason=reason.value,
        )
    )
    payment = await uow.payments.get(order.payment_id)
    if payment is not None:
        await request_refund(
            uow, ids, now, payment=payment, order_id=order.id, contact=order.contact, reason=reason
        )
    return True
