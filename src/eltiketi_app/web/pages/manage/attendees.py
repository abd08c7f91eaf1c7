"""An event's attendees in the back office: one line per ticket (type, name on it, buyer,
check-in), page by page, and the CSV export — streamed page by page, as ``GET
/v1/events/{id}/attendees.csv`` streams it, from the same use case."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import get
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream, Template

from eltiketi_app.web.pages.common import NO_STORE
from eltiketi_app.web.pages.manage.common import ManageScreen
from eltiketi_core.domain.order import TicketStatus
from eltiketi_core.usecases.attendees import Attendees

PAGE_SIZE = 50


@get("/manage/events/{event_id:uuid}/attendees", name="manage:attendees")
@inject
async def attendees_page(
    *,
    event_id: FromPath[UUID],
    attendees: FromDishka[Attendees],
    screen: FromDishka[ManageScreen],
    after: Annotated[UUID | None, QueryParameter(name="after")] = None,
    void: Annotated[bool, QueryParameter(name="void")] = False,
) -> Template:
    principal = screen.principal()
    place = await screen.place(event_id)
    found = await attendees.page(
        principal, event_id, after=after, limit=PAGE_SIZE, include_void=void
    )
    zone = place.view.event.timezone
    rows = [
        {
            "attendee": a,
            "void": a.status is TicketStatus.VOID,
            "checked_in": screen.lang.moment(a.checked_in_at, zone) if a.checked_in_at else "",
        }
        for a in found.items
    ]
    return screen.render(
        "manage/attendees.html",
        title=screen.lang.gettext("Attendees"),
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
    attendees: FromDishka[Attendees],
    screen: FromDishka[ManageScreen],
    void: Annotated[bool, QueryParameter(name="void")] = False,
) -> Stream:
    """The CSV file, streamed: access is checked before the first byte, then one page of
    tickets is read (in its own short transaction) and sent at a time."""
    principal = screen.principal()
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
