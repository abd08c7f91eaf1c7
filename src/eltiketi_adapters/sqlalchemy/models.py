"""The relational schema, as SQLAlchemy declarative models.

These classes are private to :mod:`eltiketi_adapters.sqlalchemy`: the stores
map rows to the core's msgspec structs and nothing here crosses the port.
The migrations in ``migrations/versions`` create exactly this schema (a test
compares them with alembic's autogenerate).

advanced-alchemy provides the registry (constraint naming convention, so every
constraint has a stable name migrations can refer to) and the portable column
types: ``GUID`` (native ``uuid`` on PostgreSQL, 16 bytes on SQLite),
``DateTimeUTC`` (``timestamptz``; aware UTC datetimes back from SQLite too),
and ``BigIntIdentity`` (``bigint`` identity, ``INTEGER`` rowid alias on SQLite).
Its ``JsonB`` is not used: with SQLAlchemy 2.1 its Oracle variant fails at
table creation (``sqlalchemy.util.portable_instancemethod`` is gone), so
:data:`JsonDocument` is the same idea without the Oracle part.

Money is always two columns: ``*_amount`` (bigint minor units) and
``*_currency`` (``char(3)``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from advanced_alchemy.base import create_registry
from advanced_alchemy.types import GUID, BigIntIdentity, DateTimeUTC
from sqlalchemy import (
    CHAR,
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from eltiketi_core.domain.booking import BookingStatus
from eltiketi_core.domain.catalog import EventStatus
from eltiketi_core.domain.job import JobKind, JobStatus
from eltiketi_core.domain.order import OrderStatus, StockState, TicketStatus
from eltiketi_core.domain.organization import InvitationStatus, MemberRole
from eltiketi_core.domain.payment import PaymentStatus, RefundReason, RefundStatus
from eltiketi_core.ports.stores import NotificationStatus

#: Our own registry (not advanced-alchemy's global one), so an application that
#: also uses advanced-alchemy never mixes its tables into our migrations.
_registry = create_registry()


class Base(DeclarativeBase):
    """Declarative base of every elTiketi table."""

    registry = _registry
    metadata = _registry.metadata


def _one_of(column: str, values: type[StrEnum]) -> str:
    """SQL for ``column IN (...)`` over an enum's values (kept in sync with the core)."""
    quoted = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({quoted})"


ID = GUID
#: ``jsonb`` on PostgreSQL, ``JSON`` (text) on SQLite.
JsonDocument = JSON().with_variant(JSONB(), "postgresql")
Money = BigInteger
Currency = CHAR(3)
Timestamp = DateTimeUTC
Subject = String(255)


class OrganizationRow(Base):
    """A tenant that owns events. ``personal_of``: at most one personal organization per
    subject (NULLs do not collide, in PostgreSQL and SQLite alike)."""

    __tablename__ = "organizations"
    __table_args__ = (UniqueConstraint("personal_of", name="uq_organizations_personal_of"),)

    id: Mapped[UUID] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(Subject)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    personal_of: Mapped[str | None] = mapped_column(Subject)


class OrganizationMemberRow(Base):
    """One person's role in one organization; the primary key makes it one per pair."""

    __tablename__ = "organization_members"
    __table_args__ = (
        CheckConstraint(_one_of("role", MemberRole), name="role_known"),
        Index("ix_organization_members_subject", "subject"),
    )

    organization_id: Mapped[UUID] = mapped_column(
        ID, ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    subject: Mapped[str] = mapped_column(Subject, primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    added_by: Mapped[str] = mapped_column(Subject)
    added_at: Mapped[datetime] = mapped_column(Timestamp)
    email: Mapped[str | None] = mapped_column(String(320))


class InvitationRow(Base):
    __tablename__ = "invitations"
    __table_args__ = (
        CheckConstraint(_one_of("role", MemberRole), name="role_known"),
        CheckConstraint(_one_of("status", InvitationStatus), name="status_known"),
        Index("ix_invitations_organization_id_created_at", "organization_id", "created_at"),
    )

    id: Mapped[UUID] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[UUID] = mapped_column(
        ID, ForeignKey("organizations.id", ondelete="CASCADE")
    )
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    invited_by: Mapped[str] = mapped_column(Subject)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    status: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(Subject)
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp)


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint(_one_of("status", EventStatus), name="status_known"),
        Index("ix_events_status_starts_at", "status", "starts_at"),
        Index("ix_events_organization_id_starts_at", "organization_id", "starts_at"),
    )

    id: Mapped[UUID] = mapped_column(ID, primary_key=True)
    #: Who created it (a subject); the organization owns it.
    owner: Mapped[str] = mapped_column(Subject)
    organization_id: Mapped[UUID] = mapped_column(ID, ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(300))
    venue: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[datetime] = mapped_column(Timestamp)
    timezone: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(35))
    currency: Mapped[str] = mapped_column(Currency)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    description: Mapped[str] = mapped_column(Text, server_default=text("''"))


class TicketTypeRow(Base):
    __tablename__ = "ticket_types"
    __table_args__ = (
        CheckConstraint("capacity >= 0", name="capacity_nonnegative"),
        CheckConstraint("shards BETWEEN 1 AND 256", name="shards_in_range"),
        CheckConstraint("max_per_booking >= 1", name="max_per_booking_positive"),
        CheckConstraint("price_amount >= 0", name="price_nonnegative"),
        Index("ix_ticket_types_event_id_position", "event_id", "position"),
    )

    id: Mapped[UUID] = mapped_column(ID, primary_key=True)
    event_id: Mapped[UUID] = mapped_column(ID, ForeignKey("events.id", ondelete="CASCADE"))
    #: Creation order within the event (``ticket_types()`` lists in this order).
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    price_amount: Mapped[int] = mapped_column(Money)
    price_currency: Mapped[str] = mapped_column(Currency)
    capacity: Mapped[int] = mapped_column(Integer)
    max_per_booking: Mapped[int] = mapped_column(Integer)
    shards: Mapped[int] = mapped_column(Integer)
    #: The sale window (NULL: unbounded on that side), checked when a hold is taken.
    sales_start: Mapped[datetime | None] = mapped_column(Timestamp)
    sales_end: Mapped[datetime | None] = mapped_column(Timestamp)


class InventoryShardRow(Base):
    """One slice of a ticket type's stock. The invariant lives in the database too."""

    __tablename__ = "inventory_shards"
    __table_args__ = (
        CheckConstraint("capacity >= 0", name="capacity_nonnegative"),
        CheckConstraint("held >= 0", name="held_nonnegative"),
        CheckConstraint("sold >= 0", name="sold_nonnegative"),
        CheckConstraint("held + sold <= capacity", name="within_capacity"),
    )

    ticket_type_id: Mapped[UUID] = mapped_column(
        ID, ForeignKey("ticket_types.id", ondelete="CASCADE"), primary_key=True
    )
    shard_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    capacity: Mapped[int] = mapped_column(Integer)
    held: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    sold: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class BookingRow(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint(_one_of("status", BookingStatus), name="status_known"),
        Index("ix_bookings_buyer_event_id", "buyer", "event_id"),
        Index("ix_bookings_event_id_status", "event_id", "status"),
        # The sweeper's scan: only live holds are indexed (PostgreSQL and SQLite
        # both support partial indexes).
        Index(
            "ix_bookings_held_expires_at",
            "expires_at",
            postgresql_where=text("status = 'held'"),
            sqlite_where=text("status = 'held'"),
        ),
    )

    id: Mapped[UUID] = mapped_column(ID, primary_key=True)
    event_id: Mapped[UUID] = mapped_column(ID, ForeignKey("events.id"))
    buyer: Mapped[str] = mapped_column(Subject)
    contact_email: Mapped[str | None] = mapped_column(String(320))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    total_amount: Mapped[int] = mapped_column(Money)
    total_currency: Mapped[str] = mapped_column(Currency)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    #: When the hold ended expired or cancelled (the re-hold throttle counts these).
    ended_at: Mapped[datetime | None] = mapped_column(Timestamp)
    #: one name per ticket (a JSON list of strings; empty or NULL: none given)
    holders: Mapped[Any] = mapped_column(JsonDocument, nullable=True)
    #: the buyer's language (BCP 47) for the e-tickets; NULL: the event's
    locale: Mapped[str | None] = mapped_column(String(35))


class BookingItemRow(Base):
    __tablename__ = "booking_items"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_booking_items_ticket_type_id", "ticket_type_id"),
    )

    booking_id: Mapped[UUID] = mapped_column(
        ID, ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ticket_type_id: Mapped[UUID] = mapped_column(ID, ForeignKey("ticket_types.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_amount: Mapped[int] = mapped_column(Money)
    unit_price_currency: Mapped[str] = mapped_column(Currency)


class AllocationState(StrEnum):
    """Where an allocation's tickets are counted on its shard."""

    HELD = "held"
    SOLD = "sold"


class BookingAllocationRow(Base):
    """Which shard served how many tickets of a booking, so stock goes back where it came from.

    No foreign key to ``bookings``: the core reserves stock before it writes the
    booking row (in the same transaction). Released stock deletes its rows; the
    table only describes stock a booking still owns.
    """

    __tablename__ = "booking_allocations"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(_one_of("state", AllocationState), name="state_known"),
        ForeignKeyConstraint(
            ["ticket_type_id", "shard_no"],
            ["inventory_shards.ticket_type_id", "inventory_shards.shard_no"],
            name="fk_booking_allocations_shard",
            ondelete="CASCADE",
        ),
        Index("ix_booking_allocations_booking_id_ticket_type_id", "booking_id", "ticket_type_id"),
        Index("ix_booking_allocations_ticket_type_id_shard_no", "ticket_type_id", "shard_no"),
    )

    id: Mapped[int] = mapped_column(BigIntIdentity, Identity(start=1), primary_key=True)
    booking_id: Mapped[UUID] = mapped_column(ID)
    ticket_type_id: Mapped[UUID] = mapped_column(ID)
    shard_no: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(8))


class PaymentRow(Base):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(_one_of("status", PaymentStatus), name="status_known"),
        CheckConstraint("amount >= 0", name="amount_nonnegative"),
        # At most one open payment per booking, enforced at write time.
        Index(
            "uq_payments_open_booking_id",
            "booking_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
        Index("ix_payments_booking_id", "booking_id"),
        UniqueConstraint("provider", "provider_reference", name="uq_payments_provider_reference"),
    )

    id: Mapped[UUID] = mapped_column(ID, primary_key=True)
    booking_id: Mapped[UUID] = mapped_column(ID, ForeignKey("bookings.id"))
    buyer: Mapped[str] = mapped_column(Subject)
    provider: Mapped[str] = mapped_column(String(32))
    provider_reference: Mapped[str | None] = mapped_column(String(255))
    amount: Mapped[int] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(Currency)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    checkout_url: Mapped[str | None] = mapped_column(Text)
    client_secret: Mapped[str | None] = mapped_column(Text)


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(_one_of("status", OrderStatus), name="status_known"),
        CheckConstraint(_one_of("stock", StockState), name="stock_known"),
        UniqueConstraint("booking_id", name="uq_orders_booking_id"),
        UniqueConstraint("payment_id", name="uq_orders_payment_id"),
        #: Also the index the back office searches by reference with.
        UniqueConstraint("reference", name="uq_orders_reference"),
        Index("ix_orders_buyer_created_at", "buyer", "created_at"),
        # Keyset pages of one event's orders in one status (event cancellation).
        Index("ix_orders_event_id_status_id", "event_id", "status", "id"),
        # The organizer's dashboard and search: an event's orders by time. On PostgreSQL
        # the index also carries what the dashboard sums, so it is read alone.
        Index(
            "ix_orders_event_id_created_at",
            "event_id",
            "created_at",
            postgresql_include=["status", "total_amount"],
        ),
    )

    id: Mapped[UUID] = mapped_column(ID, primary_key=True)
    booking_id: Mapped[UUID] = mapped_column(ID, ForeignKey("bookings.id"))
    #: The payment the order keeps; NULL for a free booking (NULLs never collide in
    #: ``uq_orders_payment_id``).
    payment_id: Mapped[UUID | None] = mapped_column(ID, ForeignKey("payments.id"))
    event_id: Mapped[UUID] = mapped_column(ID, ForeignKey("events.id"))
    buyer: Mapped[str] = mapped_column(Subject)
    contact_email: Mapped[str | None] = mapped_column(String(320))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    #: The order's items as they were confirmed (JSON list of BookingItem).
    items: Mapped[Any] = mapped_column(JsonDocument)
    total_amount: Mapped[int] = mapped_column(Money)
    total_currency: Mapped[str] = mapped_column(Currency)
    status: Mapped[str] = mapped_column(String(16))
    stock: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    #: The short order number a buyer reads (``Order.reference``), unique.
    reference: Mapped[str] = mapped_column(String(16))


class RefundRow(Base):
    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint(_one_of("reason", RefundReason), name="reason_known"),
        CheckConstraint(_one_of("status", RefundStatus), name="status_known"),
        CheckConstraint("amount >= 0", name="amount_nonnegative"),
        # A payment's money goes back at most once, whatever the reason: deciding twice (or
        # for two reasons) refunds once.
        UniqueConstraint("payment_id", name="uq_refunds_payment_id"),
    )

    id: Mapped[UUID] = mapped_column(ID, primary_key=True)
    payment_id: Mapped[UUID] = mapped_column(ID, ForeignKey("payments.id"))
    booking_id: Mapped[UUID] = mapped_column(ID, ForeignKey("bookings.id"))
    order_id: Mapped[UUID | None] = mapped_column(ID, ForeignKey("orders.id"))
    buyer: Mapped[str] = mapped_column(Subject)
    amount: Mapped[int] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(Currency)
    reason: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    provider_reference: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)


class TicketRow(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(_one_of("status", TicketStatus), name="status_known"),
        Index("ix_tickets_order_id", "order_id"),
        # Keyset pages of an event's tickets (attendee list, CSV export).
        Index("ix_tickets_event_id_id", "event_id", "id"),
    )

    id: Mapped[UUID] = mapped_column(ID, primary_key=True)
    order_id: Mapped[UUID] = mapped_column(ID, ForeignKey("orders.id"))
    event_id: Mapped[UUID] = mapped_column(ID, ForeignKey("events.id"))
    ticket_type_id: Mapped[UUID] = mapped_column(ID, ForeignKey("ticket_types.id"))
    holder: Mapped[str] = mapped_column(Subject)
    status: Mapped[str] = mapped_column(String(16))
    token: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    #: the person the ticket is for, as the buyer named them
    holder_name: Mapped[str | None] = mapped_column(String(100))


class CheckInRow(Base):
    """One row per ticket, ever: the primary key makes a ticket single-use."""

    __tablename__ = "check_ins"
    __table_args__ = (
        UniqueConstraint("id", name="uq_check_ins_id"),
        # Check-ins so far, per event (dashboard).
        Index("ix_check_ins_event_id", "event_id"),
    )

    ticket_id: Mapped[UUID] = mapped_column(ID, ForeignKey("tickets.id"), primary_key=True)
    #: The scan's own id: tells the winning scan from a later one at the same instant.
    id: Mapped[UUID] = mapped_column(ID)
    event_id: Mapped[UUID] = mapped_column(ID, ForeignKey("events.id"))
    checked_in_at: Mapped[datetime] = mapped_column(Timestamp)
    scanned_by: Mapped[str] = mapped_column(Subject)


class IdempotencyKeyRow(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)

    user: Mapped[str] = mapped_column(Subject, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(128))
    response: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class OutboxRow(Base):
    """Domain events written in the transaction of the change they describe.

    ``seq`` orders the outbox; on SQLite ``AUTOINCREMENT`` keeps it from ever
    reusing a number after pruning.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("event_id", name="uq_outbox_event_id"),
        # The relay's scan: only unpublished rows are indexed.
        Index(
            "ix_outbox_unpublished_seq",
            "seq",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
        Index("ix_outbox_published_at", "published_at"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(BigIntIdentity, Identity(start=1), primary_key=True)
    event_id: Mapped[UUID] = mapped_column(ID)
    type: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    payload: Mapped[Any] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    published_at: Mapped[datetime | None] = mapped_column(Timestamp)


class InboxRow(Base):
    """Event ids a consumer has processed, committed with the consumer's effect."""

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_processed_at", "processed_at"),)

    consumer: Mapped[str] = mapped_column(String(128), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(Timestamp)


class NotificationRow(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(_one_of("status", NotificationStatus), name="status_known"),
        UniqueConstraint("key", "channel", name="uq_notifications_key_channel"),
        Index("ix_notifications_status_next_attempt_at", "status", "next_attempt_at"),
        # Renewals find a sender's records by its lease; finished records have none.
        Index(
            "ix_notifications_lease",
            "lease",
            postgresql_where=text("lease IS NOT NULL"),
            sqlite_where=text("lease IS NOT NULL"),
        ),
    )

    id: Mapped[UUID] = mapped_column(ID, primary_key=True)
    key: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    next_attempt_at: Mapped[datetime | None] = mapped_column(Timestamp)
    sent_at: Mapped[datetime | None] = mapped_column(Timestamp)
    error: Mapped[str | None] = mapped_column(Text)
    #: The token of the sender holding the record; ``next_attempt_at`` is when it ends.
    lease: Mapped[UUID | None] = mapped_column(ID)
    generation: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    requested_at: Mapped[datetime | None] = mapped_column(Timestamp)


class NotificationQuotaRow(Base):
    """How many messages of a capped kind one booking got on one channel."""

    __tablename__ = "notification_quotas"

    scope: Mapped[str] = mapped_column(String(255), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    used: Mapped[int] = mapped_column(Integer)


class JobRow(Base):
    """A background job, its progress and the lease of the runner working on it."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_one_of("kind", JobKind), name="kind_known"),
        CheckConstraint(_one_of("status", JobStatus), name="status_known"),
        CheckConstraint(
            "orders_refunded >= 0 AND holds_released >= 0 AND orders_remaining >= 0",
            name="counts_nonnegative",
        ),
        # One job of each kind per event: cancelling twice finds the first job.
        UniqueConstraint("event_id", "kind", name="uq_jobs_event_id_kind"),
        # The runners' claim: only jobs still to do are indexed.
        Index(
            "ix_jobs_active_created_at",
            "created_at",
            postgresql_where=text("status IN ('queued', 'running')"),
            sqlite_where=text("status IN ('queued', 'running')"),
        ),
    )

    id: Mapped[UUID] = mapped_column(ID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[UUID] = mapped_column(ID, ForeignKey("events.id"))
    requested_by: Mapped[str] = mapped_column(Subject)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    orders_refunded: Mapped[int] = mapped_column(Integer)
    holds_released: Mapped[int] = mapped_column(Integer)
    orders_remaining: Mapped[int] = mapped_column(Integer)
    #: Keyset position: the id of the last order visited.
    cursor: Mapped[UUID | None] = mapped_column(ID)
    started_at: Mapped[datetime | None] = mapped_column(Timestamp)
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)
    failures: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[datetime | None] = mapped_column(Timestamp)


metadata = Base.metadata
