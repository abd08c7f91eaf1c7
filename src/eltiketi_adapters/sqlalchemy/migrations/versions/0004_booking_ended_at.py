"""When a hold ended unpaid (released or expired): the re-hold throttle counts these.

Revision ID: 0004
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision = "0004"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: held and confirmed bookings have not ended unpaid; holds that ended
    # before this revision have no time and are not counted.
    op.add_column("bookings", sa.Column("ended_at", DateTimeUTC(timezone=True), nullable=True))


def downgrade() -> None:
    # A plain ALTER TABLE … DROP COLUMN (SQLite >= 3.35): the column has no index.
    op.drop_column("bookings", "ended_at")
