"""What organizers read about a running sale: the dashboard, the attendee list and its
CSV export (streamed page by page: 100,000 rows never sit in memory at once)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import Router, get
from litestar.params import FromPath, FromQuery, Parameter
from litestar.response import Stream

from eltiketi_app.http.auth import BEARER, authenticated
from eltiketi_app.http.openapi import can_answer
from eltiketi_app.http.organizer_schemas import (
    AttendeePageOut,
    DashboardOut,
    attendee_page_out,
    dashboard_out,
)
from eltiketi_app.http.problem_catalog import STORAGE
from eltiketi_core.domain.identity import Principal
from eltiketi_core.usecases.attendees import MAX_PAGE, Attendees
from eltiketi_core.usecases.dashboard import MAX_HOURS, MIN_HOURS, Dashboards

#: Litestar adds ``; charset=utf-8`` to text types.
CSV_MEDIA_TYPE = "text/csv"

Hours = Annotated[
    int, Parameter(ge=MIN_HOURS, le=MAX_HOURS, description="hours the chart covers, to now")
]
PageSize = Annotated[int, Parameter(ge=1, le=MAX_PAGE, description="page size")]
IncludeVoid = Annotated[
    bool, Parameter(description="also list refunded (void) tickets", required=False)
]


@can_answer("missing_role", "event_not_found", "malformed_request", *STORAGE)
@get(
    "/{event_id:uuid}/dashboard",
    summary="The event's sale at a glance (owning organizer)",
    description="Per ticket type: capacity, held, sold, available; orders and refunded "
    "orders, `gross`, `refunded` and `net` money; tickets checked in; orders per UTC hour "
    "for the last `hours` hours (a small chart). Reads only, takes no lock: cheap enough "
    "to poll every couple of seconds while a sale runs. `held` becomes `sold` when the "
    "inventory handler has seen the order (moments after the confirmation).",
)
@inject
async def event_dashboard(
    event_id: FromPath[UUID],
    dashboards: FromDishka[Dashboards],
    principal: FromDishka[Principal],
    hours: Hours = 24,
) -> DashboardOut:
    return dashboard_out(await dashboards.for_event(principal, event_id, hours=hours))


@can_answer("missing_role", "event_not_found", "malformed_request", *STORAGE)
@get(
    "/{event_id:uuid}/attendees",
    summary="The event's attendees, a page at a time (owning organizer)",
    description="One entry per ticket, by ticket id: type, holder, the order's contact, "
    "`status` and `checked_in_at`. Follow `next_after` (as `after`) for the next page.",
)
@inject
async def list_attendees(
    event_id: FromPath[UUID],
    attendees: FromDishka[Attendees],
    principal: FromDishka[Principal],
    *,
    after: FromQuery[UUID | None] = None,
    limit: PageSize = 100,
    include_void: IncludeVoid = False,
) -> AttendeePageOut:
    page = await attendees.page(
        principal, event_id, after=after, limit=limit, include_void=include_void
    )
    return attendee_page_out(page)


@can_answer("missing_role", "event_not_found", "malformed_request", *STORAGE)
@get(
    "/{event_id:uuid}/attendees.csv",
    summary="Download the attendee list as CSV (owning organizer)",
    description="Streamed as it is read, a page of tickets at a time. UTF-8 with a byte "
    "order mark, every cell quoted, CRLF; columns `ticket_id, order_id, ticket_type, name, "
    "holder, email, phone, status, checked_in_at` (in the event's timezone). Cells a spreadsheet "
    "would run as a formula (starting `=`, `+`, `-`, `@`, tab, CR) get a leading `'`.",
    media_type=CSV_MEDIA_TYPE,
)
@inject
async def export_attendees(
    event_id: FromPath[UUID],
    attendees: FromDishka[Attendees],
    principal: FromDishka[Principal],
    include_void: IncludeVoid = False,
) -> Stream:
    export = await attendees.export(principal, event_id, include_void=include_void)
    return Stream(
        export.chunks(),
        media_type=CSV_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "Cache-Control": "no-store",
        },
    )


router = Router(
    path="/v1/events",
    tags=["organizers"],
    guards=[authenticated],
    security=BEARER,
    route_handlers=[event_dashboard, list_attendees, export_attendees],
)
