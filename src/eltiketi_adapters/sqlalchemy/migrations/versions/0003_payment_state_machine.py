"""A payment's money goes back once; refunded payments say so; free orders have no payment.

* ``payments.status`` may be ``refunded`` (succeeded, then refunded). Payments that a
  refund row already covers move from ``succeeded`` to ``refunded``.
* ``refunds.reason`` may be ``duplicate_payment``, and a payment has at most one refund,
  whatever its reason (``uq_refunds_payment_id`` replaces ``uq_refunds_payment_id_reason``).
  Where earlier versions recorded two refunds of one payment (the second was refused by
  the gateway and stayed pending), the one to keep is the executed one, else the oldest;
  the others are deleted: they never moved money and never can.
* ``orders.payment_id`` is nullable: a free booking is confirmed without a payment.

The downgrade maps ``refunded`` payments back to ``succeeded`` and ``duplicate_payment``
refunds to ``hold_lost`` (the nearest earlier reason: money refunded without an order), and
refuses to run while free orders exist (their ``payment_id`` cannot become NOT NULL).

Revision ID: 0003
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import GUID
from alembic import op

revision = "0003"
down_revision = "0009"
branch_labels = None
depends_on = None

_PAYMENT_STATUSES_BEFORE = "status IN ('open', 'succeeded', 'failed', 'cancelled')"
_PAYMENT_STATUSES = "status IN ('open', 'succeeded', 'failed', 'cancelled', 'refunded')"
_REFUND_REASONS_BEFORE = (
    "reason IN ('hold_lost', 'customer_cancelled', 'event_cancelled', 'organizer_cancelled')"
)
_REFUND_REASONS = (
    "reason IN ('hold_lost', 'duplicate_payment', 'customer_cancelled', 'event_cancelled',"
    " 'organizer_cancelled')"
)

#: Refunds that another refund of the same payment outranks (executed first, then oldest).
_OUTRANKED_REFUNDS = """
DELETE FROM refunds WHERE id IN (
    SELECT r.id FROM refunds r WHERE EXISTS (
        SELECT 1 FROM refunds k
        WHERE k.payment_id = r.payment_id AND k.id <> r.id AND (
            (k.status = 'succeeded' AND r.status <> 'succeeded')
            OR ((k.status = 'succeeded') = (r.status = 'succeeded') AND (
                k.created_at < r.created_at
                OR (k.created_at = r.created_at AND k.id < r.id)
            ))
        )
    )
)
"""


def upgrade() -> None:
    with op.batch_alter_table("payments") as payments:
        payments.drop_constraint(op.f("ck_payments_status_known"), type_="check")
        payments.create_check_constraint(op.f("ck_payments_status_known"), _PAYMENT_STATUSES)
    op.execute(
        "UPDATE payments SET status = 'refunded' WHERE status = 'succeeded'"
        " AND EXISTS (SELECT 1 FROM refunds WHERE refunds.payment_id = payments.id)"
    )
    op.execute(_OUTRANKED_REFUNDS)
    with op.batch_alter_table("refunds") as refunds:
        refunds.drop_constraint("uq_refunds_payment_id_reason", type_="unique")
        refunds.create_unique_constraint("uq_refunds_payment_id", ["payment_id"])
        refunds.drop_constraint(op.f("ck_refunds_reason_known"), type_="check")
        refunds.create_check_constraint(op.f("ck_refunds_reason_known"), _REFUND_REASONS)
    with op.batch_alter_table("orders") as orders:
        orders.alter_column("payment_id", existing_type=GUID(), nullable=True)


def downgrade() -> None:
    free = op.get_bind().execute(sa.text("SELECT count(*) FROM orders WHERE payment_id IS NULL"))
    if free.scalar_one():
        raise RuntimeError(
            "cannot downgrade below 0003: free orders (without a payment) exist, and "
            "orders.payment_id was NOT NULL before"
        )
    with op.batch_alter_table("orders") as orders:
        orders.alter_column("payment_id", existing_type=GUID(), nullable=False)
    op.execute("UPDATE refunds SET reason = 'hold_lost' WHERE reason = 'duplicate_payment'")
    with op.batch_alter_table("refunds") as refunds:
        refunds.drop_constraint(op.f("ck_refunds_reason_known"), type_="check")
        refunds.create_check_constraint(op.f("ck_refunds_reason_known"), _REFUND_REASONS_BEFORE)
        refunds.drop_constraint("uq_refunds_payment_id", type_="unique")
        refunds.create_unique_constraint("uq_refunds_payment_id_reason", ["payment_id", "reason"])
    op.execute("UPDATE payments SET status = 'succeeded' WHERE status = 'refunded'")
    with op.batch_alter_table("payments") as payments:
        payments.drop_constraint(op.f("ck_payments_status_known"), type_="check")
        payments.create_check_constraint(op.f("ck_payments_status_known"), _PAYMENT_STATUSES_BEFORE)
