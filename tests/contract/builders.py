"""Valid domain objects for the contract suite, and the parent rows they need.

Plain constructors, no randomness beyond fresh ids: a contract failure must be
reproducible from the test alone. Times are whole seconds (every backend
stores them exactly) around :data:`T0`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eltiketi_core.domain.booking import Booking, BookingItem, BookingStatus, Contact
from eltiketi_core.domain.catalog import Event, EventStatus, TicketType
from eltiketi_core.domain.events import BookingCreated
from eltiketi_core.domain.job import Job, JobKind, JobStatus
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.order import (
    CheckIn,
    Order,
    Ticket,
    TicketStatus,
)
from eltiketi_core.domain.organization import (
    Invitation,
    MemberRole,
    Membership,
    Organization,
)
from eltiketi_core.domain.payment import Payment, PaymentStatus, Refund, RefundReason, RefundStatus
from eltiketi_core.ports.stores import NotificationRecord, NotificationStatus
from eltiketi_core.ports.uow import UnitOfWork, UnitOfWorkFactory

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
PRICE = Money(2500, "EUR")
#: The organization :func:`new_event` puts events in unless told otherwise
#: (:func:`store_event` creates it on first use).
ORG_ID = UUID("00000000-0000-4000-8000-00000000c0de")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def new_organization(
    *, name: str = "Contract Org", personal_of: str | None = None, created_by: str = "olga"
) -> Organization:
    return Organization(
        id=uuid4(), name=name, created_by=created_by, created_at=T0, personal_of=personal_of
    )


def new_membership(
    organization: Organization | UUID,
    subject: str,
    role: MemberRole = MemberRole.MANAGER,
    *,
    added_at: datetime = T0,
    email: str | None = None,
) -> Membership:
    organization_id = organization if isinstance(organization, UUID) else organization.id
    return Membership(
        organization_id=organization_id,
        subject=subject,
        role=role,
        added_by="olga",
        added_at=added_at,
        email=email,
    )


def new_invitation(
    organization: Organization,
    email: str = "dora@example.org",
    role: MemberRole = MemberRole.DOOR,
    *,
    created_at: datetime = T0,
    ttl: timedelta = timedelta(days=7),
) -> Invitation:
    return Invitation(
        id=uuid4(),
        organization_id=organization.id,
        email=email,
        role=role,
        invited_by="olga",
        created_at=created_at,
        expires_at=created_at + ttl,
    )


def new_event(
    *,
    owner: str = "olga",
    starts_at: datetime | None = None,
    status: EventStatus = EventStatus.PUBLISHED,
    name: str = "Contract Night",
    description: str = "",
    organization_id: UUID = ORG_ID,
) -> Event:
    return Event(
        id=uuid4(),
        owner=owner,
        organization_id=organization_id,
        name=name,
        venue="Hall",
        starts_at=starts_at or T0 + timedelta(days=30),
        timezone="Europe/Berlin",
        locale="de",
        currency="EUR",
        status=status,
        created_at=T0,
        description=description,
    )


def new_ticket_type(event: Event, *, capacity: int = 10, shards: int = 1) -> TicketType:
    return TicketType(
        id=uuid4(),
        event_id=event.id,
        name="Standing",
        price=PRICE,
        capacity=capacity,
        max_per_booking=10,
        shards=shards,
    )


def new_booking(
    event: Event,
    items: Sequence[tuple[TicketType, int]],
    *,
    buyer: str = "alice",
    status: BookingStatus = BookingStatus.HELD,
    created_at: datetime = T0,
    expires_at: datetime | None = None,
) -> Booking:
    booking_items = tuple(
        BookingItem(ticket_type_id=tt.id, quantity=q, unit_price=tt.price) for tt, q in items
    )
    total = Money(sum(i.subtotal.amount for i in booking_items), PRICE.currency)
    return Booking(
        id=uuid4(),
        event_id=event.id,
        buyer=buyer,
        contact=Contact(email=f"{buyer}@example.org", phone="+4915112345678"),
        items=booking_items,
        total=total,
        status=status,
        created_at=created_at,
        expires_at=expires_at or created_at + timedelta(minutes=15),
    )


def new_payment(
    booking: Booking,
    *,
    status: PaymentStatus = PaymentStatus.OPEN,
    created_at: datetime = T0,
    reference: str | None = None,
) -> Payment:
    return Payment(
        id=uuid4(),
        booking_id=booking.id,
        buyer=booking.buyer,
        provider="fake",
        amount=booking.total,
        status=status,
        created_at=created_at,
        provider_reference=reference,
    )


def new_order(booking: Booking, payment: Payment, *, created_at: datetime = T0) -> Order:
    return Order.confirming(booking, order_id=uuid4(), payment_id=payment.id, created_at=created_at)


def new_tickets(order: Order, *, created_at: datetime = T0) -> list[Ticket]:
    tickets = []
    for item in order.items:
        for _ in range(item.quantity):
            ticket_id = uuid4()
            tickets.append(
                Ticket(
                    id=ticket_id,
                    order_id=order.id,
                    event_id=order.event_id,
                    ticket_type_id=item.ticket_type_id,
                    holder=order.buyer,
                    status=TicketStatus.VALID,
                    token=f"token-{ticket_id}",
                    version=1,
                    created_at=created_at,
                )
            )
    return tickets


def new_refund(
    payment: Payment,
    reason: RefundReason = RefundReason.CUSTOMER_CANCELLED,
    *,
    order: Order | None = None,
    created_at: datetime = T0,
) -> Refund:
    return Refund(
        id=uuid4(),
        payment_id=payment.id,
        booking_id=payment.booking_id,
        order_id=order.id if order else None,
        buyer=payment.buyer,
        amount=payment.amount,
        reason=reason,
        status=RefundStatus.PENDING,
        created_at=created_at,
    )


def new_check_in(ticket: Ticket, *, scanned_by: str = "sam", at_: datetime = T0) -> CheckIn:
    return CheckIn(
        id=uuid4(),
        ticket_id=ticket.id,
        event_id=ticket.event_id,
        checked_in_at=at_,
        scanned_by=scanned_by,
    )


def new_notification(
    key: str,
    channel: str = "email",
    *,
    status: NotificationStatus = NotificationStatus.QUEUED,
    created_at: datetime = T0,
    next_attempt_at: datetime | None = None,
) -> NotificationRecord:
    return NotificationRecord(
        id=uuid4(),
        key=key,
        channel=channel,
        kind=key.split(":", 1)[0],
        recipient="alice@example.org" if channel == "email" else "+4915112345678",
        status=status,
        attempts=0,
        created_at=created_at,
        next_attempt_at=next_attempt_at,
    )


def new_job(
    event: Event,
    *,
    status: JobStatus = JobStatus.QUEUED,
    created_at: datetime = T0,
    orders_remaining: int = 0,
) -> Job:
    return Job(
        id=uuid4(),
        kind=JobKind.EVENT_CANCELLATION,
        event_id=event.id,
        requested_by=event.owner,
        status=status,
        created_at=created_at,
        orders_remaining=orders_remaining,
    )


def booking_created(booking_id: UUID | None = None, *, seconds: float = 0) -> BookingCreated:
    """A domain event to put in the outbox (its content does not matter to the stores)."""
    return BookingCreated(
        id=uuid4(),
        occurred_at=at(seconds),
        booking_id=booking_id or uuid4(),
        event_id=uuid4(),
        buyer="alice",
        items=(BookingItem(ticket_type_id=uuid4(), quantity=2, unit_price=PRICE),),
        expires_at=at(seconds + 900),
    )


async def store_event(uow: UnitOfWork, event: Event) -> None:
    """Add ``event``, and first its organization if the store does not have it yet (with
    the event's creator as its owner, as the use cases make it)."""
    if await uow.organizations.get(event.organization_id) is None:
        organization = Organization(
            id=event.organization_id, name="Contract Org", created_by=event.owner, created_at=T0
        )
        await uow.organizations.add(organization)
        await uow.organizations.add_member(
            new_membership(organization, event.owner, MemberRole.OWNER)
        )
    await uow.catalog.add_event(event)


async def committed(
    uow_factory: UnitOfWorkFactory, action: Callable[[UnitOfWork], Awaitable[object]]
) -> None:
    """Run ``action`` in a unit of work and commit (for ``pytest.raises`` blocks)."""
    async with uow_factory() as uow:
        await action(uow)
        await uow.commit()


class World:
    """Writes parent rows through the ports, each in its own committed transaction."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self.uow = uow

    async def event(self, **kwargs: Any) -> Event:
        event = new_event(**kwargs)
        async with self.uow() as uow:
            await store_event(uow, event)
            await uow.commit()
        return event

    async def organization(self, *members: tuple[str, MemberRole], **kwargs: Any) -> Organization:
        """An organization with these (subject, role) members."""
        organization = new_organization(**kwargs)
        async with self.uow() as uow:
            assert await uow.organizations.add(organization)
            for subject, role in members:
                assert await uow.organizations.add_member(
                    new_membership(organization, subject, role)
                )
            await uow.commit()
        return organization

    async def ticket_type(
        self, event: Event | None = None, *, capacity: int = 10, shards: int = 1
    ) -> TicketType:
        event = event or await self.event()
        ticket_type = new_ticket_type(event, capacity=capacity, shards=shards)
        async with self.uow() as uow:
            await uow.catalog.add_ticket_type(ticket_type)
            await uow.commit()
        return ticket_type

    async def event_of(self, ticket_type: TicketType) -> Event:
        async with self.uow() as uow:
            event = await uow.catalog.get_event(ticket_type.event_id)
        assert event is not None
        return event

    async def booking(
        self,
        ticket_type: TicketType | None = None,
        quantity: int = 1,
        *,
        reserve: bool = False,
        **kwargs: Any,
    ) -> Booking:
        """A booking row (and, with ``reserve``, its stock held, as the core does)."""
        ticket_type = ticket_type or await self.ticket_type()
        event = await self.event_of(ticket_type)
        booking = new_booking(event, [(ticket_type, quantity)], **kwargs)
        async with self.uow() as uow:
            if reserve:
                assert await uow.inventory.reserve(booking.id, ticket_type.id, quantity)
            await uow.bookings.add(booking)
            await uow.commit()
        return booking

    async def payment(self, booking: Booking | None = None, **kwargs: Any) -> Payment:
        booking = booking or await self.booking()
        payment = new_payment(booking, **kwargs)
        async with self.uow() as uow:
            assert await uow.payments.add(payment)
            await uow.commit()
        return payment

    async def order(
        self, booking: Booking | None = None, *, created_at: datetime = T0, **kwargs: Any
    ) -> Order:
        booking = booking or await self.booking(**kwargs)
        payment = await self.payment(booking, status=PaymentStatus.SUCCEEDED)
        order = new_order(booking, payment, created_at=created_at)
        async with self.uow() as uow:
            assert await uow.orders.add(order)
            await uow.commit()
        return order

    async def job(self, event: Event | None = None, **kwargs: Any) -> Job:
        job = new_job(event or await self.event(), **kwargs)
        async with self.uow() as uow:
            assert await uow.jobs.add(job)
            await uow.commit()
        return job

    async def tickets(self, order: Order | None = None) -> list[Ticket]:
        order = order or await self.order()
        tickets = new_tickets(order)
        async with self.uow() as uow:
            await uow.tickets.add_many(tickets)
            await uow.commit()
        return tickets
