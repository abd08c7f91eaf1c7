"""``eltiketi serve --demo``: one published event with two ticket types, created once.

Seeding is idempotent: the demo organizer's event is found by name and completed
(missing ticket types added, published) instead of created again, so restarting
a server on the same data folder keeps one demo event.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from eltiketi_core.domain.catalog import EventStatus
from eltiketi_core.domain.identity import Principal, Role
from eltiketi_core.domain.money import Money
from eltiketi_core.usecases import EventView, NewEvent, NewTicketType, Ticketing

DEMO_ORGANIZER = Principal(
    subject="demo-organizer", username="demo-organizer", roles=frozenset({Role.ORGANIZER.value})
)
DEMO_EVENT_NAME = "elTiketi Demo Night"
DEMO_TIMEZONE = "Europe/Amsterdam"
DEMO_TICKET_TYPES = (
    NewTicketType(
        name="Standing", price=Money(3500, "EUR"), capacity=200, max_per_booking=6, shards=4
    ),
    NewTicketType(
        name="Balcony (seated)", price=Money(5500, "EUR"), capacity=50, max_per_booking=4
    ),
)


async def seed_demo(ticketing: Ticketing) -> EventView:
    """The demo event, published, with both ticket types; created only if missing."""
    event_id = await _find_or_create(ticketing)
    view = await ticketing.catalog.get(event_id, DEMO_ORGANIZER)
    have = {t.name for t in view.ticket_types}
    for wanted in DEMO_TICKET_TYPES:
        if wanted.name not in have:
            await ticketing.catalog.add_ticket_type(DEMO_ORGANIZER, event_id, wanted)
    if view.event.status is EventStatus.DRAFT:
        await ticketing.catalog.publish(DEMO_ORGANIZER, event_id)
    return await ticketing.catalog.get(event_id, DEMO_ORGANIZER)


async def _find_or_create(ticketing: Ticketing) -> UUID:
    for view in await ticketing.catalog.list_managed(DEMO_ORGANIZER, limit=200):
        if view.event.name == DEMO_EVENT_NAME and view.event.status is not EventStatus.CANCELLED:
            return view.event.id
    zone = ZoneInfo(DEMO_TIMEZONE)
    day = (ticketing.clock.now() + timedelta(days=30)).astimezone(zone).date()
    starts_at = datetime.combine(day, time(20, 0), tzinfo=zone)
    event = await ticketing.catalog.create_event(
        DEMO_ORGANIZER,
        NewEvent(
            name=DEMO_EVENT_NAME,
            venue="Paradiso, Amsterdam",
            starts_at=starts_at,
            timezone=DEMO_TIMEZONE,
            locale="en",
            currency="EUR",
        ),
    )
    return event.id
