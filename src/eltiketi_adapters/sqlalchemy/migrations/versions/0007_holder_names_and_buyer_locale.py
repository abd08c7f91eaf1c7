"""Ticket holder names (named on the booking, copied to each ticket) and the buyer's language.

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None

#: ``jsonb`` on PostgreSQL, ``JSON`` on SQLite (models.JsonDocument at this revision).
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    # Nullable: bookings and tickets made before this revision have no names and no
    # language (the e-tickets then use the event's).
    op.add_column("bookings", sa.Column("holders", JSON_DOCUMENT, nullable=True))
    op.add_column("bookings", sa.Column("locale", sa.String(length=35), nullable=True))
    op.add_column("tickets", sa.Column("holder_name", sa.String(length=100), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite >= 3.35): none of them is indexed.
    op.drop_column("tickets", "holder_name")
    op.drop_column("bookings", "locale")
    op.drop_column("bookings", "holders")
