"""The JSON shapes of the organizer's routes (the back office's REST side).

PATCH bodies distinguish a field left out (``UNSET``: unchanged) from ``null``
(for a sale-window bound: none). Unknown fields — ``shards`` among them, which
is fixed once a type exists — are a ``400 malformed_request``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from eltiketi_app.http.schemas import (
    BookingItemOut,
    Capacity,
    ContactOut,
    CurrencyCode,
    Description,
    LocaleTag,
    MoneyIn,
    Name,
    PerBooking,
    Strict,
    TimezoneName,
    items_out,
)
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.order import Order
from eltiketi_core.usecases.attendees import AttendeePage, AttendeeView
from eltiketi_core.usecases.dashboard import EventDashboard
from eltiketi_core.usecases.event_admin import (
    EventChanges,
    EventSummary,
    TicketTypeChanges,
    TicketTypeStock,
)
from eltiketi_core.usecases.organizer_orders import OrderDetail

# --- requests -------------------------------------------------------------------------


class EventChangesIn(Strict):
    name: Name | UnsetType = UNSET
    venue: Name | UnsetType = UNSET
    starts_at: datetime | UnsetType = UNSET
    timezone: TimezoneName | UnsetType = UNSET
    locale: LocaleTag | UnsetType = UNSET
    currency: CurrencyCode | UnsetType = UNSET
    """Only while the event has no ticket type (``409 currency_locked``)."""
    description: Description | UnsetType = UNSET


class TicketTypeChangesIn(Strict):
    name: Name | UnsetType = UNSET
    price: MoneyIn | UnsetType = UNSET
    capacity: Capacity | UnsetType = UNSET
    """Up at any time; down to ``held + sold`` at least (``409 capacity_below_sold``)."""
    max_per_booking: PerBooking | UnsetType = UNSET
    sales_start: datetime | UnsetType | None = UNSET
    """``null`` removes the bound."""
    sales_end: datetime | UnsetType | None = UNSET
    """``null`` removes the bound."""


def event_changes(data: EventChangesIn) -> EventChanges:
    return EventChanges(**msgspec.structs.asdict(data))


def ticket_type_changes(data: TicketTypeChangesIn) -> TicketTypeChanges:
    price = data.price
    return TicketTypeChanges(
        name=data.name,
        price=UNSET if isinstance(price, UnsetType) else Money(price.amount, price.currency),
        capacity=data.capacity,
        max_per_booking=data.max_per_booking,
        sales_start=data.sales_start,
        sales_end=data.sales_end,
    )


# --- responses ------------------------------------------------------------------------


class TicketTypeStockOut(msgspec.Struct, kw_only=True):
    """A ticket type as its organizer sees it: settings and counters."""

    id: UUID
    name: str
    price: Money
    max_per_booking: int
    shards: int
    sales_start: datetime | None
    sales_end: datetime | None
    capacity: int
    held: int
    sold: int
    available: int


class TicketTypeStockListOut(msgspec.Struct, kw_only=True):
    event_id: UUID
    items: list[TicketTypeStockOut]


class EventSummaryOut(msgspec.Struct, kw_only=True):
    """One of the organizer's events: ``status`` is stored, ``phase`` is where it stands
    now (``draft``, ``on_sale``, ``sold_out``, ``past``, ``cancelled``)."""

    id: UUID
    name: str
    venue: str
    starts_at: datetime
    timezone: str
    currency: str
    status: str
    phase: str
    ticket_types: int
    capacity: int
    held: int
    tickets_sold: int
    available: int
    orders: int
    gross: Money
    refunded: Money


class EventSummaryListOut(msgspec.Struct, kw_only=True):
    items: list[EventSummaryOut]
    limit: int
    offset: int


class HourOut(msgspec.Struct, kw_only=True):
    hour: datetime
    orders: int


class DashboardOut(msgspec.Struct, kw_only=True):
    """An event's sale at ``as_of``; poll it (it takes no lock and writes nothing)."""

    event_id: UUID
    name: str
    status: str
    phase: str
    as_of: datetime
    capacity: int
    held: int
    sold: int
    available: int
    ticket_types: list[TicketTypeStockOut]
    orders: int
    refunded_orders: int
    gross: Money
    refunded: Money
    net: Money
    checked_in: int
    orders_per_hour: list[HourOut]
    """The chart: one entry per UTC hour of the window, oldest first, zeros included."""


class OrganizerOrderOut(msgspec.Struct, kw_only=True):
    """An order as the organizer of its event sees it (with the buyer and contact);
    ``reference`` is the short order number the buyer reads."""

    id: UUID
    reference: str
    booking_id: UUID
    event_id: UUID
    buyer: str
    contact: ContactOut
    status: str
    created_at: datetime
    items: list[BookingItemOut]
    total: Money


class OrganizerOrderListOut(msgspec.Struct, kw_only=True):
    items: list[OrganizerOrderOut]
    limit: int
    offset: int


class OrderTicketOut(msgspec.Struct, kw_only=True):
    id: UUID
    ticket_type_id: UUID
    holder_name: str | None
    status: str
    checked_in_at: datetime | None


class OrderPaymentOut(msgspec.Struct, kw_only=True):
    id: UUID
    provider: str
    provider_reference: str | None
    status: str
    amount: Money
    created_at: datetime


class OrderRefundOut(msgspec.Struct, kw_only=True):
    id: UUID
    payment_id: UUID
    amount: Money
    reason: str
    status: str
    created_at: datetime


class OrderDetailOut(OrganizerOrderOut, kw_only=True):
    tickets: list[OrderTicketOut]
    payments: list[OrderPaymentOut]
    refunds: list[OrderRefundOut]


class AttendeeOut(msgspec.Struct, kw_only=True):
    ticket_id: UUID
    order_id: UUID
    ticket_type_id: UUID
    ticket_type: str
    holder_name: str | None
    """The name the buyer gave the ticket; null: unnamed."""
    holder: str
    email: str | None
    phone: str | None
    status: str
    checked_in_at: datetime | None


class AttendeePageOut(msgspec.Struct, kw_only=True):
    items: list[AttendeeOut]
    next_after: UUID | None
    """Pass as ``after`` for the next page; ``null``: this was the last."""


# --- conversions ----------------------------------------------------------------------


def ticket_type_stock_out(stock: TicketTypeStock) -> TicketTypeStockOut:
    ticket_type = stock.ticket_type
    return TicketTypeStockOut(
        id=ticket_type.id,
        name=ticket_type.name,
        price=ticket_type.price,
        max_per_booking=ticket_type.max_per_booking,
        shards=ticket_type.shards,
        sales_start=ticket_type.sales_start,
        sales_end=ticket_type.sales_end,
        capacity=stock.capacity,
        held=stock.held,
        sold=stock.sold,
        available=stock.available,
    )


def event_summary_out(summary: EventSummary) -> EventSummaryOut:
    event = summary.event
    return EventSummaryOut(
        id=event.id,
        name=event.name,
        venue=event.venue,
        starts_at=event.starts_at,
        timezone=event.timezone,
        currency=event.currency,
        status=event.status.value,
        phase=summary.phase.value,
        ticket_types=summary.ticket_types,
        capacity=summary.capacity,
        held=summary.held,
        tickets_sold=summary.tickets_sold,
        available=summary.available,
        orders=summary.orders,
        gross=summary.gross,
        refunded=summary.refunded,
    )


def dashboard_out(board: EventDashboard) -> DashboardOut:
    return DashboardOut(
        event_id=board.event.id,
        name=board.event.name,
        status=board.event.status.value,
        phase=board.phase.value,
        as_of=board.as_of,
        capacity=board.capacity,
        held=board.held,
        sold=board.sold,
        available=board.available,
        ticket_types=[ticket_type_stock_out(t) for t in board.ticket_types],
        orders=board.orders,
        refunded_orders=board.refunded_orders,
        gross=board.gross,
        refunded=board.refunded,
        net=board.net,
        checked_in=board.checked_in,
        orders_per_hour=[HourOut(hour=h.hour, orders=h.orders) for h in board.orders_per_hour],
    )


def organizer_order_out(order: Order) -> OrganizerOrderOut:
    return OrganizerOrderOut(**_order_fields(order))


def order_detail_out(detail: OrderDetail) -> OrderDetailOut:
    scanned = {c.ticket_id: c.checked_in_at for c in detail.check_ins}
    return OrderDetailOut(
        **_order_fields(detail.order),
        tickets=[
            OrderTicketOut(
                id=t.id,
                ticket_type_id=t.ticket_type_id,
                holder_name=t.holder_name,
                status=t.status.value,
                checked_in_at=scanned.get(t.id),
            )
            for t in detail.tickets
        ],
        payments=[
            OrderPaymentOut(
                id=p.id,
                provider=p.provider,
                provider_reference=p.provider_reference,
                status=p.status.value,
                amount=p.amount,
                created_at=p.created_at,
            )
            for p in detail.payments
        ],
        refunds=[
            OrderRefundOut(
                id=r.id,
                payment_id=r.payment_id,
                amount=r.amount,
                reason=r.reason.value,
                status=r.status.value,
                created_at=r.created_at,
            )
            for r in detail.refunds
        ],
    )


def _order_fields(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "reference": order.reference,
        "booking_id": order.booking_id,
        "event_id": order.event_id,
        "buyer": order.buyer,
        "contact": ContactOut(email=order.contact.email, phone=order.contact.phone),
        "status": order.status.value,
        "created_at": order.created_at,
        "items": items_out(order.items),
        "total": order.total,
    }


def attendee_out(view: AttendeeView) -> AttendeeOut:
    return AttendeeOut(
        ticket_id=view.ticket_id,
        order_id=view.order_id,
        ticket_type_id=view.ticket_type_id,
        ticket_type=view.ticket_type_name,
        holder_name=view.holder_name,
        holder=view.holder,
        email=view.email,
        phone=view.phone,
        status=view.status.value,
        checked_in_at=view.checked_in_at,
    )


def attendee_page_out(page: AttendeePage) -> AttendeePageOut:
    return AttendeePageOut(items=[attendee_out(a) for a in page.items], next_after=page.next_after)
