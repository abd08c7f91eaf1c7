"""Organizers manage their catalogue: the event list with status, event and ticket-type
edits (sale windows, capacity), unpublishing.

Every route answers ``401`` without a token and ``403 missing_role`` without the
organizer role; an event the caller does not manage is ``404 event_not_found``
(the core's :func:`~eltiketi_core.usecases.access.managed_event` decides).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import Router, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from eltiketi_app.http.auth import BEARER, authenticated
from eltiketi_app.http.availability_cache import EventViewCache
from eltiketi_app.http.openapi import can_answer
from eltiketi_app.http.organizer_schemas import (
    EventChangesIn,
    EventSummaryListOut,
    TicketTypeChangesIn,
    TicketTypeStockListOut,
    TicketTypeStockOut,
    event_changes,
    event_summary_out,
    ticket_type_changes,
    ticket_type_stock_out,
)
from eltiketi_app.http.paging import Limit, Offset
from eltiketi_app.http.problem_catalog import STORAGE, WRITES
from eltiketi_app.http.schemas import EventOut, event_view_out
from eltiketi_core.domain.identity import Principal
from eltiketi_core.usecases.catalog import Catalog
from eltiketi_core.usecases.event_admin import EventAdmin


@dataclass(frozen=True, slots=True)
class EventEdits:
    """How a route that changes an event answers, per request (the container builds it):
    the event as the change left it, its cached public view dropped first so the shop
    shows the change at once."""

    catalog: Catalog
    views: EventViewCache
    principal: Principal

    async def apply(
        self, event_id: UUID, change: Callable[[Principal, UUID], Awaitable[object]]
    ) -> EventOut:
        """Make ``change`` as the caller, then answer the event as it left it."""
        await change(self.principal, event_id)
        return await self.answer(event_id)

    async def answer(self, event_id: UUID) -> EventOut:
        self.views.invalidate(event_id)
        return event_view_out(await self.catalog.get(event_id, self.principal))


@can_answer("malformed_request", "organization_not_found", "missing_role", *STORAGE)
@get(
    "/managed",
    summary="The caller's events with their status and sales (organizer)",
    description="Every status, by start. `phase` is `draft`, `on_sale`, `sold_out` "
    "(published, nothing left in any ticket type), `past` (published, started) or "
    "`cancelled`; `tickets_sold`, `orders`, `gross` and `refunded` are the sales so far. "
    "`organization_id` narrows it to one organization, where you must be an owner or "
    "manager (`404 organization_not_found`, `403 missing_role`).",
)
@inject
async def managed_events(
    event_admin: FromDishka[EventAdmin],
    principal: FromDishka[Principal],
    limit: Limit = 50,
    offset: Offset = 0,
    organization_id: FromQuery[UUID | None] = None,
) -> EventSummaryListOut:
    summaries = await event_admin.summaries(
        principal, limit=limit, offset=offset, organization_id=organization_id
    )
    return EventSummaryListOut(
        items=[event_summary_out(s) for s in summaries], limit=limit, offset=offset
    )


@can_answer(
    "missing_role",
    "event_not_found",
    "event_cancelled",
    "currency_locked",
    "invalid_name",
    "invalid_timezone",
    "naive_datetime",
    "invalid_currency",
    *WRITES,
)
@patch(
    "/{event_id:uuid}",
    summary="Edit an event (owning organizer)",
    description="Fields left out keep their value. `currency` changes only while the event "
    "has no ticket type (`409 currency_locked`); a cancelled event is not edited (`409 "
    "event_cancelled`). Rules of a new event apply (`422 invalid_name`, `invalid_venue`, "
    "`invalid_timezone`, `naive_datetime`, `invalid_currency`, `description_too_long`). "
    "A published event stays on sale; buyers see the change at once.",
    guards=[authenticated],
    security=BEARER,
)
@inject
async def edit_event(
    *,
    event_id: FromPath[UUID],
    data: JSONBody[EventChangesIn],
    event_admin: FromDishka[EventAdmin],
    edits: FromDishka[EventEdits],
) -> EventOut:
    await event_admin.edit_event(edits.principal, event_id, event_changes(data))
    return await edits.answer(event_id)


@can_answer("missing_role", "event_not_found", "event_cancelled", "event_has_bookings", *WRITES)
@post(
    "/{event_id:uuid}/unpublish",
    status_code=200,
    summary="Take an unbooked event back to draft (owning organizer)",
    description="Only while nobody has ever booked it (`409 event_has_bookings`: cancel it "
    "instead, or edit it while it stays published); a draft answers as it is; a cancelled "
    "event is `409 event_cancelled`. A reservation racing this either committed first "
    "(and the event stays published) or finds the event gone (`404`).",
)
@inject
async def unpublish_event(
    event_id: FromPath[UUID], event_admin: FromDishka[EventAdmin], edits: FromDishka[EventEdits]
) -> EventOut:
    return await edits.apply(event_id, event_admin.unpublish)


@can_answer("missing_role", "event_not_found", *STORAGE)
@get(
    "/{event_id:uuid}/ticket-types",
    summary="The event's ticket types with settings and counters (owning organizer)",
    guards=[authenticated],
    security=BEARER,
)
@inject
async def list_ticket_types(
    event_id: FromPath[UUID], event_admin: FromDishka[EventAdmin], principal: FromDishka[Principal]
) -> TicketTypeStockListOut:
    stock = await event_admin.stock(principal, event_id)
    return TicketTypeStockListOut(
        event_id=event_id, items=[ticket_type_stock_out(s) for s in stock]
    )


@can_answer(
    "missing_role",
    "event_not_found",
    "ticket_type_not_found",
    "event_cancelled",
    "capacity_below_sold",
    "currency_mismatch",
    "invalid_currency",
    "invalid_name",
    "invalid_capacity",
    "invalid_limit",
    "invalid_price",
    "invalid_sale_window",
    "naive_datetime",
    *WRITES,
)
@patch(
    "/{event_id:uuid}/ticket-types/{ticket_type_id:uuid}",
    summary="Edit a ticket type: name, price, limit, sale window, capacity (owning organizer)",
    description="Fields left out keep their value; `sales_start`/`sales_end` `null` remove "
    "the bound. All or nothing. `capacity` may go up at any time and down to `held + sold` "
    "(`409 capacity_below_sold`, with `minimum`); a new `price` applies to holds taken from "
    "now on. `shards` cannot change (`400`). `404 ticket_type_not_found` for a type of "
    "another event; `422 invalid_sale_window`, `currency_mismatch`, `invalid_capacity`, "
    "`invalid_limit`, `invalid_price`, `invalid_name`; `409 event_cancelled`.",
)
@inject
async def edit_ticket_type(
    event_id: FromPath[UUID],
    ticket_type_id: FromPath[UUID],
    *,
    data: JSONBody[TicketTypeChangesIn],
    event_admin: FromDishka[EventAdmin],
    principal: FromDishka[Principal],
    views: FromDishka[EventViewCache],
) -> TicketTypeStockOut:
    stock = await event_admin.edit_ticket_type(
        principal, event_id, ticket_type_id, ticket_type_changes(data)
    )
    views.invalidate(event_id)
    return ticket_type_stock_out(stock)


router = Router(
    path="/v1/events",
    tags=["organizers"],
    guards=[authenticated],
    security=BEARER,
    # edit_event and list_ticket_types are served by the events router: a path belongs
    # to one router (which answers its OPTIONS).
    route_handlers=[
        managed_events,
        unpublish_event,
        edit_ticket_type,
    ],
)
