"""Back office: event descriptions, sale windows, the organizer's refund reason, and the
indexes behind the dashboard, order search and the attendee list.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

REASONS_BEFORE = "reason IN ('hold_lost', 'customer_cancelled', 'event_cancelled')"
REASONS_AFTER = (
    "reason IN ('hold_lost', 'customer_cancelled', 'event_cancelled', 'organizer_cancelled')"
)


def upgrade() -> None:
    op.add_column(
        "events", sa.Column("description", sa.Text(), server_default=sa.text("''"), nullable=False)
    )
    op.add_column("ticket_types", sa.Column("sales_start", DateTimeUTC(timezone=True)))
    op.add_column("ticket_types", sa.Column("sales_end", DateTimeUTC(timezone=True)))
    _refund_reasons(REASONS_AFTER)
    op.create_index(
        "ix_orders_event_id_created_at",
        "orders",
        ["event_id", "created_at"],
        unique=False,
        postgresql_include=["status", "total_amount"],
    )
    op.create_index("ix_tickets_event_id_id", "tickets", ["event_id", "id"], unique=False)
    op.create_index("ix_check_ins_event_id", "check_ins", ["event_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_check_ins_event_id", table_name="check_ins")
    op.drop_index("ix_tickets_event_id_id", table_name="tickets")
    op.drop_index("ix_orders_event_id_created_at", table_name="orders")
    # The older schema has no word for a refund an organizer decided.
    op.execute(
        "UPDATE refunds SET reason = 'customer_cancelled' WHERE reason = 'organizer_cancelled'"
    )
    _refund_reasons(REASONS_BEFORE)
    op.drop_column("ticket_types", "sales_end")
    op.drop_column("ticket_types", "sales_start")
    op.drop_column("events", "description")


def _refund_reasons(condition: str) -> None:
    """Replace the check on ``refunds.reason``. SQLite rebuilds the table for it (batch
    mode) from its reflected columns, which would turn ``BINARY(16)`` ids into
    ``NUMERIC`` and drop their foreign keys: the id columns are given as they are."""

    def fk(column: str, target: str) -> sa.ForeignKey:
        return sa.ForeignKey(f"{target}.id", name=op.f(f"fk_refunds_{column}_{target}"))

    columns: tuple[sa.schema.SchemaItem, ...] = (
        sa.Column("id", GUID(), primary_key=True, nullable=False),
        sa.Column("payment_id", GUID(), fk("payment_id", "payments"), nullable=False),
        sa.Column("booking_id", GUID(), fk("booking_id", "bookings"), nullable=False),
        sa.Column("order_id", GUID(), fk("order_id", "orders"), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
    )
    with op.batch_alter_table("refunds", reflect_args=columns) as batch:
        batch.drop_constraint(op.f("ck_refunds_reason_known"), type_="check")
        batch.create_check_constraint(op.f("ck_refunds_reason_known"), condition)
