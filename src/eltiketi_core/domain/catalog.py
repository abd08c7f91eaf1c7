"""Events and their ticket types: what is on sale, when, for how much."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from eltiketi_core.domain.money import Money
from eltiketi_core.errors import Conflict, ValidationFailed


class EventStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class EventPhase(StrEnum):
    """Where an event stands for its organizer: the stored status plus the clock and the stock.

    ``past`` (published, started) and ``sold_out`` (published, nothing available in
    any ticket type) are not stored: they follow from the start and the counters.
    """

    DRAFT = "draft"
    ON_SALE = "on_sale"
    SOLD_OUT = "sold_out"
    PAST = "past"
    CANCELLED = "cancelled"


#: Longest texts an event or a ticket type may carry (the columns' sizes).
MAX_NAME_LENGTH = 300
MAX_DESCRIPTION_LENGTH = 5_000


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """A concert, match or talk, owned by an organization.

    ``owner`` is the subject of whoever created it (kept for the record); who may
    change it is decided by membership in ``organization_id``. ``description`` is
    plain text shown to buyers (may be empty).
    """

    id: UUID
    owner: str
    organization_id: UUID
    name: str
    venue: str
    starts_at: datetime
    timezone: str
    locale: str
    currency: str
    status: EventStatus = EventStatus.DRAFT
    created_at: datetime
    description: str = ""

    def __post_init__(self) -> None:
        if self.starts_at.tzinfo is None:
            raise ValidationFailed("naive_datetime", "starts_at must carry a UTC offset")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationFailed(
                "invalid_timezone", f"unknown timezone {self.timezone!r}"
            ) from exc
        if not self.name.strip() or len(self.name) > MAX_NAME_LENGTH:
            raise ValidationFailed(
                "invalid_name", f"an event needs a name of at most {MAX_NAME_LENGTH} characters"
            )
        if len(self.venue) > MAX_NAME_LENGTH:
            raise ValidationFailed(
                "invalid_venue", f"a venue has at most {MAX_NAME_LENGTH} characters"
            )
        if len(self.description) > MAX_DESCRIPTION_LENGTH:
            raise ValidationFailed(
                "description_too_long",
                f"a description has at most {MAX_DESCRIPTION_LENGTH} characters",
            )

    @property
    def is_on_sale(self) -> bool:
        return self.status is EventStatus.PUBLISHED

    def local_start(self) -> datetime:
        """The start in the event's own timezone, as e-tickets print it."""
        return self.starts_at.astimezone(ZoneInfo(self.timezone))

    def published(self) -> Event:
        if self.status is EventStatus.CANCELLED:
            raise Conflict("event_cancelled", "a cancelled event cannot be published")
        return msgspec.structs.replace(self, status=EventStatus.PUBLISHED)

    def cancelled(self) -> Event:
        return msgspec.structs.replace(self, status=EventStatus.CANCELLED)

    def phase(self, now: datetime, *, available: int, ticket_types: int) -> EventPhase:
        """The organizer's status: ``available`` summed over its ``ticket_types`` types."""
        if self.status is EventStatus.CANCELLED:
            return EventPhase.CANCELLED
        if self.status is EventStatus.DRAFT:
            return EventPhase.DRAFT
        if self.starts_at <= now:
            return EventPhase.PAST
        if ticket_types and available <= 0:
            return EventPhase.SOLD_OUT
        return EventPhase.ON_SALE


class TicketType(msgspec.Struct, frozen=True, kw_only=True):
    """A kind of ticket for one event (standing, seated, VIP) and its stock.

    ``shards`` splits the capacity over several inventory rows so buyers of a
    hot type do not all queue on one row lock; adapters without rows ignore it.
    It is fixed once the type exists (``capacity`` is not: see
    :meth:`~eltiketi_core.ports.InventoryStore.set_capacity`).

    ``sales_start`` / ``sales_end`` (either may be None: no bound) are the sale
    window: a reservation is refused before the start (``sales_not_open``) and
    from the end on (``sales_closed``), checked in the reservation's transaction.
    """

    id: UUID
    event_id: UUID
    name: str
    price: Money
    capacity: int
    max_per_booking: int = 10
    shards: int = 1
    sales_start: datetime | None = None
    sales_end: datetime | None = None

    def __post_init__(self) -> None:
        if self.capacity < 0:
            raise ValidationFailed("invalid_capacity", "capacity cannot be negative")
        if self.max_per_booking < 1:
            raise ValidationFailed("invalid_limit", "max_per_booking must be at least 1")
        if not 1 <= self.shards <= 256:
            raise ValidationFailed("invalid_shards", "shards must be between 1 and 256")
        if self.price.amount < 0:
            raise ValidationFailed("invalid_price", "a price cannot be negative")
        if not self.name.strip() or len(self.name) > MAX_NAME_LENGTH:
            raise ValidationFailed(
                "invalid_name",
                f"a ticket type needs a name of at most {MAX_NAME_LENGTH} characters",
            )
        for bound in (self.sales_start, self.sales_end):
            if bound is not None and bound.tzinfo is None:
                raise ValidationFailed(
                    "naive_datetime", "sale window times must carry a UTC offset"
                )
        if (
            self.sales_start is not None
            and self.sales_end is not None
            and self.sales_end <= self.sales_start
        ):
            raise ValidationFailed("invalid_sale_window", "sales must end after they start")

    def check_on_sale(self, now: datetime) -> None:
        """Raise ``sales_not_open`` before the window, ``sales_closed`` from its end on."""
        if self.sales_start is not None and now < self.sales_start:
            raise Conflict(
                "sales_not_open",
                f"sales of {self.name!r} open at {self.sales_start.isoformat()}",
                ticket_type_id=str(self.id),
                sales_start=self.sales_start.isoformat(),
            )
        if self.sales_end is not None and now >= self.sales_end:
            raise Conflict(
                "sales_closed",
                f"sales of {self.name!r} closed at {self.sales_end.isoformat()}",
                ticket_type_id=str(self.id),
                sales_end=self.sales_end.isoformat(),
            )


class StockLevel(msgspec.Struct, frozen=True, kw_only=True):
    """Counters of one ticket type. Invariant: ``held + sold <= capacity``."""

    ticket_type_id: UUID
    capacity: int
    held: int = 0
    sold: int = 0

    @property
    def available(self) -> int:
        return self.capacity - self.held - self.sold
