"""The JSON shapes of the organizer's routes (the back office's REST side).

PATCH bodies distinguish a field left out (``UNSET``: unchanged) from ``null``
(for a sale-window bound: none). Unknown fields — ``shards`` among them, which
is fixed once a type exists — are a ``400 malformed_request``.
"""

from __future__ import annotations

from datetime import datetime
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
    core_output,
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
    return core_output(TicketTypeStockOut, stock, stock.ticket_type)


def event_summary_out(summary: EventSummary) -> EventSummaryOut:
    return core_output(EventSummaryOut, summary, summary.event)


def dashboard_out(board: EventDashboard) -> DashboardOut:
    return core_output(
        DashboardOut,
        board,
        board.event,
        event_id=board.event.id,
        ticket_types=[ticket_type_stock_out(t) for t in board.ticket_types],
    )


def organizer_order_out(order: Order) -> OrganizerOrderOut:
    return core_output(OrganizerOrderOut, order)


def order_detail_out(detail: OrderDetail) -> OrderDetailOut:
    scanned = {c.ticket_id: c.checked_in_at for c in detail.check_ins}
    return core_output(
        OrderDetailOut,
        detail.order,
        tickets=[
            core_output(OrderTicketOut, t, checked_in_at=scanned.get(t.id)) for t in detail.tickets
        ],
        payments=detail.payments,
        refunds=detail.refunds,
    )


def attendee_out(view: AttendeeView) -> AttendeeOut:
    return core_output(AttendeeOut, view, ticket_type=view.ticket_type_name)


def attendee_page_out(page: AttendeePage) -> AttendeePageOut:
    return AttendeePageOut(items=[attendee_out(a) for a in page.items], next_after=page.next_after)
