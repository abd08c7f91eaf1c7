"""Small real implementations of the clock and id ports, and catalogue builders, for these tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from eltiketi_core.domain.booking import BookingStatus
from eltiketi_core.domain.catalog import Event, EventStatus, TicketType
from eltiketi_core.domain.events import EventCancelled
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.payment import PaymentStatus
from tests.contract.builders import ORG_ID, store_event

START = datetime(2031, 5, 4, 18, 0, tzinfo=UTC)


class SteppingClock:
    """A clock that stands still until the test moves it."""

    def __init__(self, now: datetime = START) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


class RandomIds:
    def new_id(self) -> uuid.UUID:
        return uuid.uuid4()


def some_fact() -> EventCancelled:
    """A domain event about nothing in the database, for the outbox."""
    return EventCancelled(
        id=uuid.uuid4(), occurred_at=START, booking_id=uuid.uuid4(), event_id=uuid.uuid4()
    )


async def outbox_size(db: SqlAlchemyPersistence) -> int:
    """Rows in the outbox, as another connection sees them."""
    async with db.engine.connect() as connection:
        return int(await connection.scalar(text("SELECT count(*) FROM outbox")))


def buyer(n: int | str) -> Principal:
    return Principal(subject=f"buyer-{n}", email=f"buyer-{n}@example.test")


async def published_event(
    db: SqlAlchemyPersistence, *capacities: int, shards: int = 1, max_per_booking: int = 10
) -> tuple[Event, list[TicketType]]:
    """A published event with one ticket type per capacity given."""
    event = Event(
        id=uuid.uuid4(),
        owner="organizer-1",
        organization_id=ORG_ID,
        name="Flash Sale Night",
        venue="Hall 1",
        starts_at=START + timedelta(days=30),
        timezone="Europe/Vienna",
        locale="de-AT",
        currency="EUR",
        status=EventStatus.PUBLISHED,
        created_at=START,
    )
    types = [
        TicketType(
            id=uuid.uuid4(),
            event_id=event.id,
            name=f"Type {n}",
            price=Money(2500, "EUR"),
            capacity=capacity,
            max_per_booking=max_per_booking,
            shards=shards,
        )
        for n, capacity in enumerate(capacities)
    ]
    async with db.unit_of_work() as uow:
        await store_event(uow, event)
        for ticket_type in types:
            await uow.catalog.add_ticket_type(ticket_type)
        await uow.commit()
    return event, types


async def confirmed_orders(
    db: SqlAlchemyPersistence, event: Event, ticket_type: TicketType, orders: int
) -> None:
    """``orders`` paid, confirmed orders of one ticket each, written through the ports in
    transactions of 200 (buying each through the use cases takes minutes for thousands)."""
    from tests.contract.builders import new_booking, new_order, new_payment

    for start in range(0, orders, 200):
        async with db.unit_of_work() as uow:
            for n in range(start, min(start + 200, orders)):
                booking = new_booking(
                    event, [(ticket_type, 1)], buyer=f"b{n}", status=BookingStatus.CONFIRMED
                )
                payment = new_payment(booking, status=PaymentStatus.SUCCEEDED)
                await uow.bookings.add(booking)
                assert await uow.payments.add(payment)
                assert await uow.orders.add(new_order(booking, payment))
            await uow.commit()


async def held_bookings(
    db: SqlAlchemyPersistence, event: Event, ticket_type: TicketType, holds: int
) -> None:
    """``holds`` live holds of one ticket each, their stock taken."""
    from tests.contract.builders import new_booking

    async with db.unit_of_work() as uow:
        for n in range(holds):
            booking = new_booking(event, [(ticket_type, 1)], buyer=f"h{n}")
            assert await uow.inventory.reserve(booking.id, ticket_type.id, 1)
            await uow.bookings.add(booking)
        await uow.commit()
