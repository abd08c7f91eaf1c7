"""Payments and refunds: money records, with their uniqueness rules in the schema."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import exists, select, text, update
from sqlalchemy.orm import aliased

from eltiketi_adapters.sqlalchemy._tx import Tx, insert_unless_exists
from eltiketi_adapters.sqlalchemy.models import PaymentRow, RefundRow
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.payment import (
    Payment,
    PaymentStatus,
    Refund,
    RefundReason,
    RefundStatus,
)

_payments = PaymentRow.__table__
_refunds = RefundRow.__table__


class SqlPaymentStore:
    """:class:`~eltiketi_core.ports.PaymentStore`; one open payment per booking is a
    partial unique index (``uq_payments_open_booking_id``)."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add(self, payment: Payment) -> bool:
        return await insert_unless_exists(
            self._tx,
            PaymentRow,
            _payment_values(payment),
            conflict_on=[PaymentRow.booking_id],
            conflict_where=text("status = 'open'"),
        )

    async def get(self, payment_id: UUID) -> Payment | None:
        row = await self._tx.first(select(_payments).where(PaymentRow.id == payment_id))
        return _payment(row._mapping) if row else None

    async def open_for_booking(self, booking_id: UUID) -> Payment | None:
        row = await self._tx.first(
            select(_payments).where(
                PaymentRow.booking_id == booking_id,
                PaymentRow.status == PaymentStatus.OPEN.value,
            )
        )
        return _payment(row._mapping) if row else None

    async def for_booking(self, booking_id: UUID) -> list[Payment]:
        rows = await self._tx.rows(
            select(_payments)
            .where(PaymentRow.booking_id == booking_id)
            .order_by(PaymentRow.created_at.desc(), PaymentRow.id.desc())
        )
        return [_payment(row._mapping) for row in rows]

    async def by_reference(self, provider: str, reference: str) -> Payment | None:
        row = await self._tx.first(
            select(_payments).where(
                PaymentRow.provider == provider, PaymentRow.provider_reference == reference
            )
        )
        return _payment(row._mapping) if row else None

    async def update(self, payment: Payment) -> None:
        values = _payment_values(payment)
        del values["id"]
        await self._tx.execute(
            update(PaymentRow).where(PaymentRow.id == payment.id).values(**values)
        )

    async def transition(
        self, payment_id: UUID, expected: frozenset[PaymentStatus], new: PaymentStatus
    ) -> bool:
        statement = update(PaymentRow).where(
            PaymentRow.id == payment_id,
            PaymentRow.status.in_(sorted(status.value for status in expected)),
        )
        if new is PaymentStatus.OPEN:
            # Reopening must not make a second open payment for the booking.
            other = aliased(PaymentRow)
            statement = statement.where(
                ~exists().where(
                    other.booking_id == PaymentRow.booking_id,
                    other.status == PaymentStatus.OPEN.value,
                    other.id != payment_id,
                )
            )
        result = await self._tx.execute(statement.values(status=new.value))
        return bool(result.rowcount == 1)


class SqlRefundStore:
    """:class:`~eltiketi_core.ports.RefundStore`; one refund per (payment, reason) is a
    unique constraint (``uq_refunds_payment_id_reason``)."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add(self, refund: Refund) -> bool:
        return await insert_unless_exists(
            self._tx,
            RefundRow,
            _refund_values(refund),
            conflict_on=[RefundRow.payment_id, RefundRow.reason],
        )

    async def get(self, refund_id: UUID) -> Refund | None:
        row = await self._tx.first(select(_refunds).where(RefundRow.id == refund_id))
        return _refund(row._mapping) if row else None

    async def for_payment(self, payment_id: UUID) -> list[Refund]:
        rows = await self._tx.rows(
            select(_refunds)
            .where(RefundRow.payment_id == payment_id)
            .order_by(RefundRow.created_at, RefundRow.id)
        )
        return [_refund(row._mapping) for row in rows]

    async def find(self, payment_id: UUID, reason: RefundReason) -> Refund | None:
        row = await self._tx.first(
            select(_refunds).where(
                RefundRow.payment_id == payment_id, RefundRow.reason == reason.value
            )
        )
        return _refund(row._mapping) if row else None

    async def update(self, refund: Refund) -> None:
        values = _refund_values(refund)
        del values["id"]
        await self._tx.execute(update(RefundRow).where(RefundRow.id == refund.id).values(**values))


def _payment_values(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.id,
        "booking_id": payment.booking_id,
        "buyer": payment.buyer,
        "provider": payment.provider,
        "provider_reference": payment.provider_reference,
        "amount": payment.amount.amount,
        "currency": payment.amount.currency,
        "status": payment.status.value,
        "created_at": payment.created_at,
        "checkout_url": payment.checkout_url,
        "client_secret": payment.client_secret,
    }


def _payment(row: Any) -> Payment:
    return Payment(
        id=row["id"],
        booking_id=row["booking_id"],
        buyer=row["buyer"],
        provider=row["provider"],
        amount=Money(row["amount"], row["currency"]),
        status=PaymentStatus(row["status"]),
        created_at=row["created_at"],
        provider_reference=row["provider_reference"],
        checkout_url=row["checkout_url"],
        client_secret=row["client_secret"],
    )


def _refund_values(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.id,
        "payment_id": refund.payment_id,
        "booking_id": refund.booking_id,
        "order_id": refund.order_id,
        "buyer": refund.buyer,
        "amount": refund.amount.amount,
        "currency": refund.amount.currency,
        "reason": refund.reason.value,
        "status": refund.status.value,
        "created_at": refund.created_at,
        "provider_reference": refund.provider_reference,
        "error": refund.error,
    }


def _refund(row: Any) -> Refund:
    return Refund(
        id=row["id"],
        payment_id=row["payment_id"],
        booking_id=row["booking_id"],
        order_id=row["order_id"],
        buyer=row["buyer"],
        amount=Money(row["amount"], row["currency"]),
        reason=RefundReason(row["reason"]),
        status=RefundStatus(row["status"]),
        created_at=row["created_at"],
        provider_reference=row["provider_reference"],
        error=row["error"],
    )
