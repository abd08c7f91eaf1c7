"""Use-case tests run the real core over the in-memory adapters (the testing kit)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import pytest

from eltiketi_adapters.memory import FixedClock, InMemoryTicketing
from eltiketi_core.domain.booking import Booking, Contact
from eltiketi_core.domain.catalog import Event, TicketType
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.organization import MemberRole
from eltiketi_core.domain.payment import Payment
from eltiketi_core.usecases import ItemRequest, NewEvent, NewTicketType, ReserveRequest

ORGANIZER = Principal(subject="olga", roles=frozenset({"organizer"}))
#: A ``door`` member of the organization of every sale :func:`make_sale` makes.
STAFF = Principal(subject="sam", roles=frozenset({"staff"}))


def buyer(name: str = "alice") -> Principal:
    return Principal(subject=name, email=f"{name}@example.org")


@dataclass
class Sale:
    """A published event with two ticket types, ready to sell."""

    kit: InMemoryTicketing
    event: Event
    standing: TicketType
    seated: TicketType

    @property
    def clock(self) -> FixedClock:
        assert isinstance(self.kit.clock, FixedClock)
        return self.kit.clock

    async def hold(
        self, who: Principal, quantity: int = 1, ticket_type: TicketType | None = None
    ) -> Booking:
        request = ReserveRequest(
            event_id=self.event.id,
            items=(
                ItemRequest(ticket_type_id=(ticket_type or self.standing).id, quantity=quantity),
            ),
        )
        return (await self.kit.core.bookings.reserve(who, request)).booking

    async def pay(self, who: Principal, booking: Booking, *, approve: bool = True) -> Payment:
        payment = await self.kit.core.payments.start(who, booking.id)
        assert payment.provider_reference is not None
        if approve:
            self.kit.gateway.approve(payment.provider_reference)
        return payment

    async def buy(self, who: Principal, quantity: int = 1) -> UUID:
        booking = await self.hold(who, quantity)
        payment = await self.pay(who, booking)
        confirmation = await self.kit.core.settlement.confirm(who, booking.id, payment.id)
        return confirmation.order.id

    async def levels(self, ticket_type: TicketType | None = None) -> tuple[int, int, int]:
        tt = ticket_type or self.standing
        async with self.kit.uow() as uow:
            level = (await uow.inventory.levels([tt.id]))[tt.id]
        return level.capacity, level.held, level.sold


async def make_sale(
    kit: InMemoryTicketing, *, capacity: int = 100, max_per_booking: int = 10, price: int = 4500
) -> Sale:
    core = kit.core
    event = await core.catalog.create_event(
        ORGANIZER,
        NewEvent(
            name="Flash Sale Live",
            venue="Arena",
            starts_at=kit.clock.now() + timedelta(days=30),
            timezone="Europe/Berlin",
            locale="de",
            currency="EUR",
        ),
    )
    standing = await core.catalog.add_ticket_type(
        ORGANIZER,
        event.id,
        NewTicketType(
            name="Standing",
            price=Money(price, "EUR"),
            capacity=capacity,
            max_per_booking=max_per_booking,
        ),
    )
    seated = await core.catalog.add_ticket_type(
        ORGANIZER,
        event.id,
        NewTicketType(
            name="Seated",
            price=Money(8900, "EUR"),
            capacity=capacity,
            max_per_booking=max_per_booking,
        ),
    )
    await core.catalog.publish(ORGANIZER, event.id)
    await core.organizations.grant(event.organization_id, STAFF.subject, MemberRole.DOOR)
    return Sale(kit=kit, event=event, standing=standing, seated=seated)


@pytest.fixture
async def sale(eltiketi: InMemoryTicketing) -> Sale:
    return await make_sale(eltiketi)


SaleFactory = Callable[..., Awaitable[Sale]]


@pytest.fixture
def sale_factory(eltiketi: InMemoryTicketing) -> SaleFactory:
    async def make(**kwargs: int) -> Sale:
        return await make_sale(eltiketi, **kwargs)

    return make


__all__ = ["ORGANIZER", "STAFF", "Contact", "Sale", "SaleFactory", "buyer", "make_sale"]
