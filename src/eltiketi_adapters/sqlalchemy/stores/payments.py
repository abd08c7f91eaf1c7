"""Payments and refunds: money records, with their uniqueness rules in the schema.

Every statement is built once, at import, with ``p_``-prefixed bind parameters
(never a column's name: SQLAlchemy would take those as SET/VALUES entries) and
executed with a dict: building a construct and its cache key on every call
costs more Python CPU than executing it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Update, bindparam, exists, select, text, update
from sqlalchemy.orm import aliased

from eltiketi_adapters.sqlalchemy._tx import Tx
from eltiketi_adapters.sqlalchemy.dialects import insert_ignoring_conflict
from eltiketi_adapters.sqlalchemy.models import PaymentRow, RefundRow
from eltiketi_adapters.sqlalchemy.rows import bind_values, from_row, row_values
from eltiketi_core.domain.payment import (
    Payment,
    PaymentStatus,
    Refund,
    RefundReason,
)

_payments = PaymentRow.__table__
_refunds = RefundRow.__table__


def _update_by_id(model: Any) -> Update:
    """``UPDATE … SET <every column but id> = :p_<column> WHERE id = :p_id``."""
    table = model.__table__
    return (
        update(model)
        .where(table.c.id == bindparam("p_id"))
        .values(
            {column.key: bindparam(f"p_{column.key}") for column in table.c if column.key != "id"}
        )
    )


# One open payment per booking (a partial unique index).
_OPEN_PAYMENT_INDEX_WHERE = text("status = 'open'")
_ADD_PAYMENT = insert_ignoring_conflict(
    PaymentRow, [PaymentRow.booking_id], conflict_where=_OPEN_PAYMENT_INDEX_WHERE
)
_PAYMENT_BY_ID = select(_payments).where(PaymentRow.id == bindparam("p_id"))
_OPEN_PAYMENT_FOR_BOOKING = select(_payments).where(
    PaymentRow.booking_id == bindparam("p_booking_id"),
    PaymentRow.status == PaymentStatus.OPEN.value,
)
_PAYMENTS_FOR_BOOKING = (
    select(_payments)
    .where(PaymentRow.booking_id == bindparam("p_booking_id"))
    .order_by(PaymentRow.created_at.desc(), PaymentRow.id.desc())
)
_PAYMENT_BY_REFERENCE = select(_payments).where(
    PaymentRow.provider == bindparam("p_provider"),
    PaymentRow.provider_reference == bindparam("p_reference"),
)
_UPDATE_PAYMENT = _update_by_id(PaymentRow)
_TRANSITION_PAYMENT = (
    update(PaymentRow)
    .where(
        PaymentRow.id == bindparam("p_id"),
        PaymentRow.status.in_(bindparam("p_expected", expanding=True)),
    )
    .values(status=bindparam("p_new"))
)
_other_payment = aliased(PaymentRow)
# Reopening must not make a second open payment for the booking.
_REOPEN_PAYMENT = _TRANSITION_PAYMENT.where(
    ~exists().where(
        _other_payment.booking_id == PaymentRow.booking_id,
        _other_payment.status == PaymentStatus.OPEN.value,
        _other_payment.id != bindparam("p_id"),
    )
)
#: PostgreSQL, before a reopen: the booking's payments, locked, so two reopens of its
#: payments take turns and the second one's NOT EXISTS sees the first one's result.
_LOCK_PAYMENTS_OF_BOOKING = (
    select(PaymentRow.id)
    .where(
        PaymentRow.booking_id
        == select(PaymentRow.booking_id).where(PaymentRow.id == bindparam("p_id")).scalar_subquery()
    )
    .order_by(PaymentRow.id)
    .with_for_update()
)

# A payment is refunded at most once, whatever the reason.
_ADD_REFUND = insert_ignoring_conflict(RefundRow, [RefundRow.payment_id])
_REFUND_BY_ID = select(_refunds).where(RefundRow.id == bindparam("p_id"))
_REFUNDS_FOR_PAYMENT = (
    select(_refunds)
    .where(RefundRow.payment_id == bindparam("p_payment_id"))
    .order_by(RefundRow.created_at, RefundRow.id)
)
_REFUND_FOR_PAYMENT_AND_REASON = select(_refunds).where(
    RefundRow.payment_id == bindparam("p_payment_id"), RefundRow.reason == bindparam("p_reason")
)
_UPDATE_REFUND = _update_by_id(RefundRow)


class SqlPaymentStore:
    """:class:`~eltiketi_core.ports.PaymentStore`; one open payment per booking is a
    partial unique index (``uq_payments_open_booking_id``)."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add(self, payment: Payment) -> bool:
        result = await self._tx.execute(_ADD_PAYMENT.on(self._tx), row_values(payment))
        return result.first() is not None

    async def get(self, payment_id: UUID) -> Payment | None:
        row = (await self._tx.execute(_PAYMENT_BY_ID, {"p_id": payment_id})).first()
        return from_row(Payment, row._mapping) if row else None

    async def open_for_booking(self, booking_id: UUID) -> Payment | None:
        result = await self._tx.execute(_OPEN_PAYMENT_FOR_BOOKING, {"p_booking_id": booking_id})
        row = result.first()
        return from_row(Payment, row._mapping) if row else None

    async def for_booking(self, booking_id: UUID) -> list[Payment]:
        result = await self._tx.execute(_PAYMENTS_FOR_BOOKING, {"p_booking_id": booking_id})
        rows = result.all()
        return [from_row(Payment, row._mapping) for row in rows]

    async def by_reference(self, provider: str, reference: str) -> Payment | None:
        result = await self._tx.execute(
            _PAYMENT_BY_REFERENCE, {"p_provider": provider, "p_reference": reference}
        )
        row = result.first()
        return from_row(Payment, row._mapping) if row else None

    async def update(self, payment: Payment) -> None:
        await self._tx.execute(_UPDATE_PAYMENT, bind_values(payment))

    async def transition(
        self, payment_id: UUID, expected: frozenset[PaymentStatus], new: PaymentStatus
    ) -> bool:
        # Reopening must not make a second open payment for the booking.
        statement = _REOPEN_PAYMENT if new is PaymentStatus.OPEN else _TRANSITION_PAYMENT
        if new is PaymentStatus.OPEN and self._tx.is_postgres:
            await self._tx.execute(_LOCK_PAYMENTS_OF_BOOKING, {"p_id": payment_id})
        result = await self._tx.execute(
            statement,
            {
                "p_id": payment_id,
                "p_expected": sorted(status.value for status in expected),
                "p_new": new.value,
            },
        )
        return bool(result.rowcount == 1)


class SqlRefundStore:
    """:class:`~eltiketi_core.ports.RefundStore`; one refund per payment is a unique
    constraint (``uq_refunds_payment_id``)."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add(self, refund: Refund) -> bool:
        result = await self._tx.execute(_ADD_REFUND.on(self._tx), row_values(refund))
        return result.first() is not None

    async def get(self, refund_id: UUID) -> Refund | None:
        row = (await self._tx.execute(_REFUND_BY_ID, {"p_id": refund_id})).first()
        return from_row(Refund, row._mapping) if row else None

    async def for_payment(self, payment_id: UUID) -> list[Refund]:
        result = await self._tx.execute(_REFUNDS_FOR_PAYMENT, {"p_payment_id": payment_id})
        rows = result.all()
        return [from_row(Refund, row._mapping) for row in rows]

    async def find(self, payment_id: UUID, reason: RefundReason) -> Refund | None:
        result = await self._tx.execute(
            _REFUND_FOR_PAYMENT_AND_REASON, {"p_payment_id": payment_id, "p_reason": reason.value}
        )
        row = result.first()
        return from_row(Refund, row._mapping) if row else None

    async def update(self, refund: Refund) -> None:
        await self._tx.execute(_UPDATE_REFUND, bind_values(refund))
