"""Payments and refunds: money records, with their uniqueness rules in the schema.

Every statement is built once, at import, with ``p_``-prefixed bind parameters
(never a column's name: SQLAlchemy would take those as SET/VALUES entries) and
executed with a dict: building a construct and its cache key on every call
costs more Python CPU than executing it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Select, String, Update, any_, bindparam, exists, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import aliased

from eltiketi_adapters.sqlalchemy._tx import Tx
from eltiketi_adapters.sqlalchemy.dialects import insert_ignoring_conflict
from eltiketi_adapters.sqlalchemy.models import PaymentRow, RefundRow
from eltiketi_adapters.sqlalchemy.positional import PositionalSql, positional
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

#: PostgreSQL, for ``Tx.fetch_direct`` (the purchase journey: payment start and the
#: webhook). A transition returns the id of the row it changed instead of a rowcount.
_ADD_PAYMENT_PG = _ADD_PAYMENT.direct([c.key for c in _payments.c])
_PAYMENT_BY_ID_PG = positional(_PAYMENT_BY_ID)
_OPEN_PAYMENT_FOR_BOOKING_PG = positional(_OPEN_PAYMENT_FOR_BOOKING)
_PAYMENTS_FOR_BOOKING_PG = positional(_PAYMENTS_FOR_BOOKING)
_PAYMENT_BY_REFERENCE_PG = positional(_PAYMENT_BY_REFERENCE)
_UPDATE_PAYMENT_PG = positional(_UPDATE_PAYMENT)
_TRANSITION_PAYMENT_PG = positional(
    update(PaymentRow)
    .where(
        PaymentRow.id == bindparam("p_id"),
        PaymentRow.status == any_(bindparam("p_expected", type_=ARRAY(String))),
    )
    .values(status=bindparam("p_new"))
    .returning(PaymentRow.id)
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
        if self._tx.is_postgres:
            return bool(await self._tx.fetch_direct(_ADD_PAYMENT_PG, row_values(payment)))
        result = await self._tx.execute(_ADD_PAYMENT.on(self._tx), row_values(payment))
        return result.first() is not None

    async def get(self, payment_id: UUID) -> Payment | None:
        return await self._one(_PAYMENT_BY_ID, _PAYMENT_BY_ID_PG, {"p_id": payment_id})

    async def open_for_booking(self, booking_id: UUID) -> Payment | None:
        return await self._one(
            _OPEN_PAYMENT_FOR_BOOKING, _OPEN_PAYMENT_FOR_BOOKING_PG, {"p_booking_id": booking_id}
        )

    async def for_booking(self, booking_id: UUID) -> list[Payment]:
        params = {"p_booking_id": booking_id}
        if self._tx.is_postgres:
            found = await self._tx.fetch_direct(_PAYMENTS_FOR_BOOKING_PG, params)
            return [from_row(Payment, row) for row in found]
        rows = (await self._tx.execute(_PAYMENTS_FOR_BOOKING, params)).all()
        return [from_row(Payment, row._mapping) for row in rows]

    async def by_reference(self, provider: str, reference: str) -> Payment | None:
        return await self._one(
            _PAYMENT_BY_REFERENCE,
            _PAYMENT_BY_REFERENCE_PG,
            {"p_provider": provider, "p_reference": reference},
        )

    async def _one(
        self, statement: Select[Any], direct: PositionalSql, params: dict[str, Any]
    ) -> Payment | None:
        """The payment ``statement`` finds (``direct`` on PostgreSQL), if any."""
        row = await self._tx.first_mapping(statement, direct, params)
        return from_row(Payment, row) if row is not None else None

    async def update(self, payment: Payment) -> None:
        if self._tx.is_postgres:
            await self._tx.fetch_direct(_UPDATE_PAYMENT_PG, bind_values(payment))
            return
        await self._tx.execute(_UPDATE_PAYMENT, bind_values(payment))

    async def transition(
        self, payment_id: UUID, expected: frozenset[PaymentStatus], new: PaymentStatus
    ) -> bool:
        # Reopening must not make a second open payment for the booking.
        params = {
            "p_id": payment_id,
            "p_expected": sorted(status.value for status in expected),
            "p_new": new.value,
        }
        if new is not PaymentStatus.OPEN and self._tx.is_postgres:
            return len(await self._tx.fetch_direct(_TRANSITION_PAYMENT_PG, params)) == 1
        statement = _REOPEN_PAYMENT if new is PaymentStatus.OPEN else _TRANSITION_PAYMENT
        if new is PaymentStatus.OPEN and self._tx.is_postgres:
            await self._tx.execute(_LOCK_PAYMENTS_OF_BOOKING, {"p_id": payment_id})
        result = await self._tx.execute(statement, params)
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
