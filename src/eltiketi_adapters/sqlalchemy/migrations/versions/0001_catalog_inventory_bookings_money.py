"""Catalogue, inventory shards, bookings and their allocations, payments, orders, refunds, tickets, check-ins.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import GUID, BigIntIdentity, DateTimeUTC
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

#: ``jsonb`` on PostgreSQL, ``JSON`` on SQLite (models.JsonDocument at this revision).
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("venue", sa.String(length=300), nullable=False),
        sa.Column("starts_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'cancelled')", name=op.f("ck_events_status_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index("ix_events_owner", "events", ["owner"], unique=False)
    op.create_index("ix_events_status_starts_at", "events", ["status", "starts_at"], unique=False)
    op.create_table(
        "bookings",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("event_id", GUID(), nullable=False),
        sa.Column("buyer", sa.String(length=255), nullable=False),
        sa.Column("contact_email", sa.String(length=320), nullable=True),
        sa.Column("contact_phone", sa.String(length=40), nullable=True),
        sa.Column("total_amount", sa.BigInteger(), nullable=False),
        sa.Column("total_currency", sa.CHAR(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('held', 'confirmed', 'expired', 'cancelled')",
            name=op.f("ck_bookings_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_bookings_event_id_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
    )
    op.create_index("ix_bookings_buyer_event_id", "bookings", ["buyer", "event_id"], unique=False)
    op.create_index("ix_bookings_event_id_status", "bookings", ["event_id", "status"], unique=False)
    op.create_index(
        "ix_bookings_held_expires_at",
        "bookings",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'held'"),
        sqlite_where=sa.text("status = 'held'"),
    )
    op.create_table(
        "ticket_types",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("event_id", GUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("price_amount", sa.BigInteger(), nullable=False),
        sa.Column("price_currency", sa.CHAR(length=3), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("max_per_booking", sa.Integer(), nullable=False),
        sa.Column("shards", sa.Integer(), nullable=False),
        sa.CheckConstraint("capacity >= 0", name=op.f("ck_ticket_types_capacity_nonnegative")),
        sa.CheckConstraint(
            "max_per_booking >= 1", name=op.f("ck_ticket_types_max_per_booking_positive")
        ),
        sa.CheckConstraint("price_amount >= 0", name=op.f("ck_ticket_types_price_nonnegative")),
        sa.CheckConstraint(
            "shards BETWEEN 1 AND 256", name=op.f("ck_ticket_types_shards_in_range")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_ticket_types_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_types")),
    )
    op.create_index(
        "ix_ticket_types_event_id_position", "ticket_types", ["event_id", "position"], unique=False
    )
    op.create_table(
        "booking_items",
        sa.Column("booking_id", GUID(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ticket_type_id", GUID(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_amount", sa.BigInteger(), nullable=False),
        sa.Column("unit_price_currency", sa.CHAR(length=3), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_booking_items_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_booking_items_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_type_id"],
            ["ticket_types.id"],
            name=op.f("fk_booking_items_ticket_type_id_ticket_types"),
        ),
        sa.PrimaryKeyConstraint("booking_id", "position", name=op.f("pk_booking_items")),
    )
    op.create_index(
        "ix_booking_items_ticket_type_id", "booking_items", ["ticket_type_id"], unique=False
    )
    op.create_table(
        "inventory_shards",
        sa.Column("ticket_type_id", GUID(), nullable=False),
        sa.Column("shard_no", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("sold", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint("capacity >= 0", name=op.f("ck_inventory_shards_capacity_nonnegative")),
        sa.CheckConstraint(
            "held + sold <= capacity", name=op.f("ck_inventory_shards_within_capacity")
        ),
        sa.CheckConstraint("held >= 0", name=op.f("ck_inventory_shards_held_nonnegative")),
        sa.CheckConstraint("sold >= 0", name=op.f("ck_inventory_shards_sold_nonnegative")),
        sa.ForeignKeyConstraint(
            ["ticket_type_id"],
            ["ticket_types.id"],
            name=op.f("fk_inventory_shards_ticket_type_id_ticket_types"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_type_id", "shard_no", name=op.f("pk_inventory_shards")),
    )
    op.create_table(
        "payments",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("booking_id", GUID(), nullable=False),
        sa.Column("buyer", sa.String(length=255), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("provider_reference", sa.String(length=255), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("checkout_url", sa.Text(), nullable=True),
        sa.Column("client_secret", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'succeeded', 'failed', 'cancelled')",
            name=op.f("ck_payments_status_known"),
        ),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_payments_amount_nonnegative")),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_payments_booking_id_bookings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint(
            "provider", "provider_reference", name="uq_payments_provider_reference"
        ),
    )
    op.create_index("ix_payments_booking_id", "payments", ["booking_id"], unique=False)
    op.create_index(
        "uq_payments_open_booking_id",
        "payments",
        ["booking_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
        sqlite_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "booking_allocations",
        sa.Column("id", BigIntIdentity, sa.Identity(always=False, start=1), nullable=False),
        sa.Column("booking_id", GUID(), nullable=False),
        sa.Column("ticket_type_id", GUID(), nullable=False),
        sa.Column("shard_no", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.CheckConstraint(
            "state IN ('held', 'sold')", name=op.f("ck_booking_allocations_state_known")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_booking_allocations_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["ticket_type_id", "shard_no"],
            ["inventory_shards.ticket_type_id", "inventory_shards.shard_no"],
            name="fk_booking_allocations_shard",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_allocations")),
    )
    op.create_index(
        "ix_booking_allocations_booking_id_ticket_type_id",
        "booking_allocations",
        ["booking_id", "ticket_type_id"],
        unique=False,
    )
    op.create_index(
        "ix_booking_allocations_ticket_type_id_shard_no",
        "booking_allocations",
        ["ticket_type_id", "shard_no"],
        unique=False,
    )
    op.create_table(
        "orders",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("booking_id", GUID(), nullable=False),
        sa.Column("payment_id", GUID(), nullable=False),
        sa.Column("event_id", GUID(), nullable=False),
        sa.Column("buyer", sa.String(length=255), nullable=False),
        sa.Column("contact_email", sa.String(length=320), nullable=True),
        sa.Column("contact_phone", sa.String(length=40), nullable=True),
        sa.Column("items", JSON_DOCUMENT, nullable=False),
        sa.Column("total_amount", sa.BigInteger(), nullable=False),
        sa.Column("total_currency", sa.CHAR(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stock", sa.String(length=16), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('confirmed', 'refunded')", name=op.f("ck_orders_status_known")
        ),
        sa.CheckConstraint(
            "stock IN ('held', 'sold', 'released')", name=op.f("ck_orders_stock_known")
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_orders_booking_id_bookings")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_orders_event_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_orders_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("booking_id", name="uq_orders_booking_id"),
        sa.UniqueConstraint("payment_id", name="uq_orders_payment_id"),
    )
    op.create_index("ix_orders_buyer_created_at", "orders", ["buyer", "created_at"], unique=False)
    op.create_index("ix_orders_event_id_status", "orders", ["event_id", "status"], unique=False)
    op.create_table(
        "refunds",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("payment_id", GUID(), nullable=False),
        sa.Column("booking_id", GUID(), nullable=False),
        sa.Column("order_id", GUID(), nullable=True),
        sa.Column("buyer", sa.String(length=255), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("provider_reference", sa.String(length=255), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "reason IN ('hold_lost', 'customer_cancelled', 'event_cancelled')",
            name=op.f("ck_refunds_reason_known"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed')", name=op.f("ck_refunds_status_known")
        ),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_refunds_amount_nonnegative")),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_refunds_booking_id_bookings")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_refunds_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_refunds_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("payment_id", "reason", name="uq_refunds_payment_id_reason"),
    )
    op.create_table(
        "tickets",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("order_id", GUID(), nullable=False),
        sa.Column("event_id", GUID(), nullable=False),
        sa.Column("ticket_type_id", GUID(), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('valid', 'void')", name=op.f("ck_tickets_status_known")),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_tickets_event_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_tickets_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_type_id"],
            ["ticket_types.id"],
            name=op.f("fk_tickets_ticket_type_id_ticket_types"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    op.create_index("ix_tickets_order_id", "tickets", ["order_id"], unique=False)
    op.create_table(
        "check_ins",
        sa.Column("ticket_id", GUID(), nullable=False),
        sa.Column("id", GUID(), nullable=False),
        sa.Column("event_id", GUID(), nullable=False),
        sa.Column("checked_in_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("scanned_by", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_check_ins_event_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_check_ins_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_check_ins")),
        sa.UniqueConstraint("id", name="uq_check_ins_id"),
    )


def downgrade() -> None:
    op.drop_table("check_ins")
    op.drop_index("ix_tickets_order_id", table_name="tickets")
    op.drop_table("tickets")
    op.drop_table("refunds")
    op.drop_index("ix_orders_event_id_status", table_name="orders")
    op.drop_index("ix_orders_buyer_created_at", table_name="orders")
    op.drop_table("orders")
    op.drop_index(
        "ix_booking_allocations_ticket_type_id_shard_no", table_name="booking_allocations"
    )
    op.drop_index(
        "ix_booking_allocations_booking_id_ticket_type_id", table_name="booking_allocations"
    )
    op.drop_table("booking_allocations")
    op.drop_index(
        "uq_payments_open_booking_id",
        table_name="payments",
        postgresql_where=sa.text("status = 'open'"),
        sqlite_where=sa.text("status = 'open'"),
    )
    op.drop_index("ix_payments_booking_id", table_name="payments")
    op.drop_table("payments")
    op.drop_table("inventory_shards")
    op.drop_index("ix_booking_items_ticket_type_id", table_name="booking_items")
    op.drop_table("booking_items")
    op.drop_index("ix_ticket_types_event_id_position", table_name="ticket_types")
    op.drop_table("ticket_types")
    op.drop_index(
        "ix_bookings_held_expires_at",
        table_name="bookings",
        postgresql_where=sa.text("status = 'held'"),
        sqlite_where=sa.text("status = 'held'"),
    )
    op.drop_index("ix_bookings_event_id_status", table_name="bookings")
    op.drop_index("ix_bookings_buyer_event_id", table_name="bookings")
    op.drop_table("bookings")
    op.drop_index("ix_events_status_starts_at", table_name="events")
    op.drop_index("ix_events_owner", table_name="events")
    op.drop_table("events")
