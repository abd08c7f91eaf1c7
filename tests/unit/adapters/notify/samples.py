"""Realistic notices for notifier tests: an event in Berlin, two ticket types, three tickets."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

from eltiketi_adapters.tickets import JoseTicketSigner
from eltiketi_core.domain.booking import BookingItem, Contact
from eltiketi_core.domain.catalog import Event, EventStatus, TicketType
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.order import (
    Order,
    OrderStatus,
    StockState,
    Ticket,
    TicketClaims,
    TicketStatus,
)
from eltiketi_core.ports.notifications import PaymentProblemNotice, RefundNotice, TicketsNotice

#: 18:30 UTC on a winter Saturday is 19:30 in Berlin (CET, UTC+1).
STARTS_AT = datetime(2026, 3, 14, 18, 30, tzinfo=UTC)
CREATED_AT = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
CONTACT = Contact(email="ada@example.org", phone="+4915112345678")


def tickets_notice(
    signer: JoseTicketSigner,
    *,
    contact: Contact = CONTACT,
    event_name: str = "Nachtkonzert",
    timezone: str = "Europe/Berlin",
    locale: str = "de-DE",
    void: int = 0,
    standing: int = 2,
) -> TicketsNotice:
    """``standing`` standing tickets (two) and one seated; the last ``void`` of them are void."""
    standing_count = standing
    event = Event(
        id=uuid4(),
        owner="organizer-1",
        organization_id=uuid4(),
        name=event_name,
        venue="Columbiahalle, Berlin",
        starts_at=STARTS_AT,
        timezone=timezone,
        locale=locale,
        currency="EUR",
        status=EventStatus.PUBLISHED,
        created_at=CREATED_AT,
    )
    standing = TicketType(
        id=uuid4(), event_id=event.id, name="Stehplatz", price=Money(3950, "EUR"), capacity=100
    )
    seated = TicketType(
        id=uuid4(), event_id=event.id, name="Sitzplatz", price=Money(5900, "EUR"), capacity=50
    )
    items = (
        BookingItem(ticket_type_id=standing.id, quantity=standing_count, unit_price=standing.price),
        BookingItem(ticket_type_id=seated.id, quantity=1, unit_price=seated.price),
    )
    order = Order(
        id=uuid4(),
        booking_id=uuid4(),
        payment_id=uuid4(),
        event_id=event.id,
        buyer="user-ada",
        contact=contact,
        items=items,
        total=Money(3950 * standing_count + 5900, "EUR"),
        status=OrderStatus.CONFIRMED,
        stock=StockState.SOLD,
        created_at=CREATED_AT,
    )
    type_ids = [standing.id] * standing_count + [seated.id]
    tickets = tuple(
        _ticket(signer, order, type_id, void=index >= len(type_ids) - void)
        for index, type_id in enumerate(type_ids)
    )
    return TicketsNotice(
        order=order,
        event=event,
        ticket_types={str(standing.id): standing, str(seated.id): seated},
        tickets=tickets,
        contact=contact,
    )


def _ticket(signer: JoseTicketSigner, order: Order, type_id: UUID, *, void: bool) -> Ticket:
    ticket_id = uuid4()
    claims = TicketClaims(ticket_id=ticket_id, event_id=order.event_id, ticket_type_id=type_id)
    return Ticket(
        id=ticket_id,
        order_id=order.id,
        event_id=order.event_id,
        ticket_type_id=type_id,
        holder=order.buyer,
        status=TicketStatus.VOID if void else TicketStatus.VALID,
        token=signer.sign(claims),
        version=1,
        created_at=CREATED_AT,
    )


def refund_notice(contact: Contact = CONTACT, *, reason: str = "event_cancelled") -> RefundNotice:
    return RefundNotice(
        contact=contact,
        buyer="user-ada",
        amount=Money(13800, "EUR"),
        reason=reason,
        order_id=str(uuid4()),
        event_name="Nachtkonzert",
    )


def payment_problem_notice(contact: Contact = CONTACT) -> PaymentProblemNotice:
    return PaymentProblemNotice(
        contact=contact,
        buyer="user-ada",
        booking_id=str(uuid4()),
        reason="the payment did not go through",
        event_name="Nachtkonzert",
    )
