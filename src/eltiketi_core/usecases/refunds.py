"""Deciding refunds. A refund is a row, one per payment whatever the reason, written in the
transaction that decides it together with the payment's ``succeeded → refunded`` change; the
money moves later through the outbox
(:class:`~eltiketi_core.usecases.handlers.RefundExecutor`), so deciding twice refunds once."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eltiketi_core.domain.booking import Contact
from eltiketi_core.domain.events import OrderRefunded, RefundRequested
from eltiketi_core.domain.order import Order, OrderStatus
from eltiketi_core.domain.payment import (
    Payment,
    PaymentStatus,
    Refund,
    RefundReason,
    RefundStatus,
)
from eltiketi_core.ports.clock import IdGenerator
from eltiketi_core.ports.uow import UnitOfWork

_SUCCEEDED = frozenset({PaymentStatus.SUCCEEDED})


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
    """Decide that ``payment``'s money goes back: ``succeeded → refunded``, the refund row and
    its ``RefundRequested``, all in the caller's transaction.

    None (and nothing recorded) unless this call moved the payment out of ``succeeded``: a
    payment that was refunded already (for whatever reason) is never refunded again, and one
    whose money never arrived has nothing to give back.
    """
    if not await uow.payments.transition(payment.id, _SUCCEEDED, PaymentStatus.REFUNDED):
        return None
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
        return None  # decided before payments recorded "refunded" (data of older versions)
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
    payment = None if order.payment_id is None else await uow.payments.get(order.payment_id)
    if payment is not None:  # a free order has no money to give back
        await request_refund(
            uow, ids, now, payment=payment, order_id=order.id, contact=order.contact, reason=reason
        )
    return True
