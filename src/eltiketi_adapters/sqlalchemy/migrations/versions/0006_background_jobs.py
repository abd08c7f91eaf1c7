"""Background jobs (event cancellation) and a keyset index over an event's orders.

Revision ID: 0006
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision = "0006"
down_revision = "0002"
branch_labels = None
depends_on = None

ACTIVE = sa.text("status IN ('queued', 'running')")


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("event_id", GUID(), nullable=False),
        sa.Column("requested_by", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("orders_refunded", sa.Integer(), nullable=False),
        sa.Column("holds_released", sa.Integer(), nullable=False),
        sa.Column("orders_remaining", sa.Integer(), nullable=False),
        sa.Column("cursor", GUID(), nullable=True),
        sa.Column("started_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("finished_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=255), nullable=True),
        sa.Column("lease_expires_at", DateTimeUTC(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('event_cancellation')", name=op.f("ck_jobs_kind_known")),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')",
            name=op.f("ck_jobs_status_known"),
        ),
        sa.CheckConstraint(
            "orders_refunded >= 0 AND holds_released >= 0 AND orders_remaining >= 0",
            name=op.f("ck_jobs_counts_nonnegative"),
        ),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name=op.f("fk_jobs_event_id_events")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("event_id", "kind", name="uq_jobs_event_id_kind"),
    )
    op.create_index(
        "ix_jobs_active_created_at",
        "jobs",
        ["created_at"],
        unique=False,
        postgresql_where=ACTIVE,
        sqlite_where=ACTIVE,
    )
    # (event_id, status) is a prefix of the new index, which also serves keyset pages by id.
    op.create_index(
        "ix_orders_event_id_status_id", "orders", ["event_id", "status", "id"], unique=False
    )
    op.drop_index("ix_orders_event_id_status", table_name="orders")


def downgrade() -> None:
    op.create_index("ix_orders_event_id_status", "orders", ["event_id", "status"], unique=False)
    op.drop_index("ix_orders_event_id_status_id", table_name="orders")
    op.drop_index(
        "ix_jobs_active_created_at",
        table_name="jobs",
        postgresql_where=ACTIVE,
        sqlite_where=ACTIVE,
    )
    op.drop_table("jobs")
