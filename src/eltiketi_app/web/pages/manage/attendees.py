"""An event's attendees in the back office: one line per ticket (type, name on it, buyer,
check-in), page by page, and the CSV export — streamed page by page, as ``GET
/v1/events/{id}/attendees.csv`` streams it, from the same use case."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import Request, get
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream, Template

from eltiketi_app.web.auth import Visitor, require
from eltiketi_app.web.i18n import Lang
from eltiketi_app.web.pages.common import NO_STORE, here
from eltiketi_app.web.pages.manage.common import EventPlaces, manage_page
from eltiketi_core.domain.order import TicketStatus
from eltiketi_core.usecases.attendees import Attendees

PAGE_SIZE = 50


@get("/manage/events/{event_id:uuid}/attendees", name="manage:attendees")
@inject
async def attendees_page(
    *,
    event_id: FromPath[UUID],
    request: Request[Any, Any, Any],
    places: FromDishka[EventPlaces],
    attendees: FromDishka[Attendees],
    lang: FromDishka[Lang],
    visitor: FromDishka[Visitor],
    after: Annotated[UUID | None, QueryParameter(name="after")] = None,
    void: Annotated[bool, QueryParameter(name="void")] = False,
) -> Template:
    principal = require(visitor, here(request))
    place = await places.of(principal, event_id)
    found = await attendees.page(
        principal, event_id, after=after, limit=PAGE_SIZE, include_void=void
    )
    zone = place.view.event.timezone
    rows = [
        {
            "attendee": a,
            "void": a.status is TicketStatus.VOID,
            "checked_in": lang.moment(a.checked_in_at, zone) if a.checked_in_at else "",
        }
        for a in found.items
    ]
    return manage_page(
        "manage/attendees.html",
        request,
        lang,
        visitor,
        title=lang.gettext("Attendees"),
        place=place,
        tab="attendees",
        rows=rows,
        first_page=after is None,
        next_after=found.next_after,
        void=void,
        void_query="&void=true" if void else "",
    )


@get("/manage/events/{event_id:uuid}/attendees.csv", name="manage:attendees-csv")
@inject
async def attendees_csv(
    *,
    event_id: FromPath[UUID],
    request: Request[Any, Any, Any],
    attendees: FromDishka[Attendees],
    visitor: FromDishka[Visitor],
    void: Annotated[bool, QueryParameter(name="void")] = False,
) -> Stream:
    """The CSV file, streamed: access is checked before the first byte, then one page of
    tickets is read (in its own short transaction) and sent at a time."""
    principal = require(visitor, here(request))
    export = await attendees.export(principal, event_id, include_void=void)
    return Stream(
        export.chunks(),
        media_type="text/csv; charset=utf-8",
        headers={
            **NO_STORE,
            "Content-Disposition": f'attachment; filename="{export.filename}"',
        },
    )


ROUTES = [attendees_page, attendees_csv]
