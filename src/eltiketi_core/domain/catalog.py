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


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """A concert, match or talk. ``owner`` is the organizer's subject."""

    id: UUID
    owner: str
    name: str
    venue: str
    starts_at: datetime
    timezone: str
    locale: str
    currency: str
    status: EventStatus = EventStatus.DRAFT
    created_at: datetime

    def __post_init__(self) -> None:
        if self.starts_at.tzinfo is None:
            raise ValidationFailed("naive_datetime", "starts_at must carry a UTC offset")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationFailed(
                "invalid_timezone", f"unknown timezone {self.timezone!r}"
            ) from exc
        if not self.name.strip():
            raise ValidationFailed("invalid_name", "an event needs a name")

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


class TicketType(msgspec.Struct, frozen=True, kw_only=True):
    """A kind of ticket for one event (standing, seated, VIP) and its stock.

    ``shards`` splits the capacity over several inventory rows so buyers of a
    hot type do not all queue on one row lock; adapters without rows ignore it.
    """

    id: UUID
    event_id: UUID
    name: str
    price: Money
    capacity: int
    max_per_booking: int = 10
    shards: int = 1

    def __post_init__(self) -> None:
        if self.capacity < 0:
            raise ValidationFailed("invalid_capacity", "capacity cannot be negative")
        if self.max_per_booking < 1:
            raise ValidationFailed("invalid_limit", "max_per_booking must be at least 1")
        if not 1 <= self.shards <= 256:
            raise ValidationFailed("invalid_shards", "shards must be between 1 and 256")
        if self.price.amount < 0:
            raise ValidationFailed("invalid_price", "a price cannot be negative")
        if not self.name.strip():
            raise ValidationFailed("invalid_name", "a ticket type needs a name")


class StockLevel(msgspec.Struct, frozen=True, kw_only=True):
    """Counters of one ticket type. Invariant: ``held + sold <= capacity``."""

    ticket_type_id: UUID
    capacity: int
    held: int = 0
    sold: int = 0

    @property
    def available(self) -> int:
        return self.capacity - self.held - self.sold
