"""Order references; notification leases, resend generations and per-booking quotas.

* ``orders.reference``: the short order number a buyer reads, unique (and so indexed
  for the back office's search). Existing orders get theirs from their id, as new ones
  do: the id's last 40 bits in Crockford base32, longer where two would collide.
* ``notifications.lease`` (the sending worker's token, indexed while set),
  ``generation`` (resends the buyer asked for) and ``requested_at``; the status
  ``suppressed`` (over a per-booking limit).
* ``notification_quotas``: messages counted against a per-booking limit.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_STATUSES_BEFORE = "status IN ('queued', 'sent', 'failed')"
_STATUSES_AFTER = "status IN ('queued', 'sent', 'failed', 'suppressed')"


def _reference(order_id: UUID, length: int) -> str:
    """The last ``5 * length`` bits of the id in Crockford base32 (as at this revision)."""
    value = order_id.int & ((1 << (5 * length)) - 1)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(5 * (length - 1), -1, -5))


def _backfill_references() -> None:
    bind = op.get_bind()
    orders = sa.table("orders", sa.column("id", GUID()), sa.column("reference", sa.String(16)))
    taken: set[str] = set()
    for (order_id,) in bind.execute(sa.select(orders.c.id).order_by(orders.c.id)):
        reference = next(
            candidate
            for length in (8, 10, 12, 16)
            if (candidate := _reference(order_id, length)) not in taken
        )
        taken.add(reference)
        bind.execute(orders.update().where(orders.c.id == order_id).values(reference=reference))


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("reference", sa.String(length=16), nullable=True))
    _backfill_references()
    with op.batch_alter_table("orders") as batch:
        batch.alter_column("reference", existing_type=sa.String(length=16), nullable=False)
        batch.create_unique_constraint("uq_orders_reference", ["reference"])

    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("lease", GUID(), nullable=True))
        batch.add_column(
            sa.Column("generation", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(sa.Column("requested_at", DateTimeUTC(timezone=True), nullable=True))
        batch.drop_constraint(op.f("ck_notifications_status_known"), type_="check")
        batch.create_check_constraint(
            op.f("ck_notifications_status_known"), sa.text(_STATUSES_AFTER)
        )
    op.create_index(
        "ix_notifications_lease",
        "notifications",
        ["lease"],
        unique=False,
        postgresql_where=sa.text("lease IS NOT NULL"),
        sqlite_where=sa.text("lease IS NOT NULL"),
    )
    op.create_table(
        "notification_quotas",
        sa.Column("scope", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "channel", name=op.f("pk_notification_quotas")),
    )


def downgrade() -> None:
    op.drop_table("notification_quotas")
    op.drop_index(
        "ix_notifications_lease",
        table_name="notifications",
        postgresql_where=sa.text("lease IS NOT NULL"),
        sqlite_where=sa.text("lease IS NOT NULL"),
    )
    # A suppressed message was never sent and will not be: "failed, given up" before.
    op.execute("UPDATE notifications SET status = 'failed' WHERE status = 'suppressed'")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint(op.f("ck_notifications_status_known"), type_="check")
        batch.create_check_constraint(
            op.f("ck_notifications_status_known"), sa.text(_STATUSES_BEFORE)
        )
        batch.drop_column("requested_at")
        batch.drop_column("generation")
        batch.drop_column("lease")
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint("uq_orders_reference", type_="unique")
        batch.drop_column("reference")
