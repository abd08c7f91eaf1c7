"""The organizer's dashboard of one event: stock, money, orders per hour, check-ins.

Built to be polled every couple of seconds while a sale runs. It is six reads,
each bounded by the event and served by an index (see ``docs/organizers.md``):
the event, its ticket types, their counters, the order totals by status, the
orders per hour of the chart's window and the check-in count. Nothing is
written and no lock is taken, so a dashboard open during a flash sale never
makes a buyer wait.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import msgspec

from eltiketi_core.domain.catalog import Event, EventPhase
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.money import Money
from eltiketi_core.errors import ValidationFailed
from eltiketi_core.ports.clock import Clock
from eltiketi_core.ports.stores import OrderTotals
from eltiketi_core.ports.uow import UnitOfWorkFactory
from eltiketi_core.usecases.access import managed_event
from eltiketi_core.usecases.event_admin import TicketTypeStock, ticket_type_stock

#: The chart's window, in hours: at least one, at most a week.
MIN_HOURS = 1
MAX_HOURS = 168


class HourCount(msgspec.Struct, frozen=True, kw_only=True):
    """Orders created in the UTC hour that starts at ``hour``."""

    hour: datetime
    orders: int


class EventDashboard(msgspec.Struct, frozen=True, kw_only=True):
    """Where a sale stands, as of ``as_of``.

    ``orders`` counts confirmed orders and ``refunded_orders`` those refunded since;
    ``gross`` is every order ever paid (refunded ones included), ``refunded`` the
    part paid back, ``net`` what is kept. ``orders_per_hour`` covers the last
    ``len(orders_per_hour)`` UTC hours, oldest first, the current hour last, every
    hour present (zero when quiet). ``checked_in`` counts tickets scanned at the door.
    """

    event: Event
    phase: EventPhase
    as_of: datetime
    ticket_types: tuple[TicketTypeStock, ...]
    orders: int
    refunded_orders: int
    gross: Money
    refunded: Money
    net: Money
    checked_in: int
    orders_per_hour: tuple[HourCount, ...]

    @property
    def capacity(self) -> int:
        return sum(t.capacity for t in self.ticket_types)

    @property
    def held(self) -> int:
        return sum(t.held for t in self.ticket_types)

    @property
    def sold(self) -> int:
        return sum(t.sold for t in self.ticket_types)

    @property
    def available(self) -> int:
        return sum(t.available for t in self.ticket_types)


class Dashboards:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def for_event(
        self, principal: Principal, event_id: UUID, *, hours: int = 24
    ) -> EventDashboard:
        """The event's dashboard with a chart of the last ``hours`` hours."""
        if not MIN_HOURS <= hours <= MAX_HOURS:
            raise ValidationFailed(
                "invalid_hours", f"the chart covers {MIN_HOURS} to {MAX_HOURS} hours"
            )
        now = self._clock.now()
        first_hour = _hour_of(now) - timedelta(hours=hours - 1)
        async with self._uow() as uow:
            event = await managed_event(uow, principal, event_id)
            stock = await ticket_type_stock(uow, event)
            totals = (await uow.orders.totals([event.id])).get(event.id) or OrderTotals(
                event_id=event.id
            )
            hourly = await uow.orders.hourly_counts(event.id, since=first_hour)
            checked_in = await uow.tickets.check_in_count(event.id)
        available = sum(t.available for t in stock)
        gross = Money(totals.gross_amount, event.currency)
        refunded = Money(totals.refunded_amount, event.currency)
        return EventDashboard(
            event=event,
            phase=event.phase(now, available=available, ticket_types=len(stock)),
            as_of=now,
            ticket_types=tuple(stock),
            orders=totals.confirmed,
            refunded_orders=totals.refunded,
            gross=gross,
            refunded=refunded,
            net=Money(gross.amount - refunded.amount, event.currency),
            checked_in=checked_in,
            orders_per_hour=tuple(
                HourCount(hour=hour, orders=hourly.get(hour, 0))
                for hour in (first_hour + timedelta(hours=n) for n in range(hours))
            ),
        )


def _hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
