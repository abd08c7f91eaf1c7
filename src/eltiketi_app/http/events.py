"""Catalogue routes (seed step 1): browse what is on sale; organizations manage their events.

Who may change an event is decided by membership in its organization (the core's
:func:`~eltiketi_core.usecases.access.managed_event`): owners and managers; a door
member gets ``403 missing_role``, anyone else ``404 event_not_found``.
"""

from __future__ import annotations

from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import Response, Router, get, post
from litestar.datastructures import ResponseHeader
from litestar.params import FromPath, FromQuery, JSONBody

from eltiketi_app.background.runner import Runner
from eltiketi_app.http.auth import BEARER, Caller, authenticated, require_principal
from eltiketi_app.http.availability_cache import EventViewCache, PublicEvents
from eltiketi_app.http.event_admin import EventEdits, edit_event, list_ticket_types
from eltiketi_app.http.openapi import can_answer
from eltiketi_app.http.paging import Limit, Offset
from eltiketi_app.http.problem_catalog import STORAGE, TOKEN_REFUSED, WRITES
from eltiketi_app.http.schemas import (
    EventListOut,
    EventOut,
    JobOut,
    NewEventIn,
    NewTicketTypeIn,
    TicketTypeOut,
    core_input,
    event_out,
    event_view_out,
    job_out,
    job_path,
    new_ticket_type_out,
)
from eltiketi_core.domain.identity import Principal
from eltiketi_core.usecases import NewEvent, NewTicketType
from eltiketi_core.usecases.cancellation import EventCancellation
from eltiketi_core.usecases.catalog import Catalog

#: Public routes that read the token when one is sent (``Caller``): a bad one is refused.
OPTIONAL_TOKEN = TOKEN_REFUSED


@can_answer("malformed_request", "missing_token", *OPTIONAL_TOKEN, *STORAGE)
@get(
    "/",
    summary="List events",
    description="Published events with live availability, soonest first; `upcoming=true` "
    "leaves out those that have started (the shop's home page); "
    "`mine=true` lists the events of the organizations the caller owns or manages, in every "
    "status (empty for someone with no such membership; admins: every event).",
)
@inject
async def list_events(  # noqa: PLR0917 - query parameters, injected by name
    catalog: FromDishka[Catalog],
    caller: FromDishka[Caller],
    limit: Limit = 50,
    offset: Offset = 0,
    mine: FromQuery[bool] = False,
    upcoming: FromQuery[bool] = False,
) -> EventListOut:
    if mine:
        views = await catalog.list_managed(require_principal(caller), limit=limit, offset=offset)
    else:
        views = await catalog.list_published(limit=limit, offset=offset, upcoming=upcoming)
    return EventListOut(items=[event_view_out(v) for v in views], limit=limit, offset=offset)


@can_answer("event_not_found", *OPTIONAL_TOKEN, *STORAGE)
@get(
    "/{event_id:uuid}",
    summary="One event with its ticket types and live availability",
    description="`available` may lag other API processes by up to "
    "`ELTIKETI_AVAILABILITY_CACHE_MS` (default 500 ms); this process's own changes "
    "show at once.",
)
@inject
async def get_event(
    event_id: FromPath[UUID],
    events: FromDishka[PublicEvents],
    caller: FromDishka[Caller],
) -> EventOut:
    """The public view from the cache; a draft, uncached, for its owner or an admin."""
    return event_view_out(await events.get(event_id, caller.principal))


@can_answer(
    "organization_not_found",
    "missing_role",
    "invalid_name",
    "invalid_timezone",
    "naive_datetime",
    "invalid_currency",
    *WRITES,
)
@post(
    "/",
    summary="Create an event (owner or manager of its organization)",
    description="Created as a draft in `organization_id` (you must be its owner or manager: "
    "otherwise 404 `organization_not_found`, or 403 `missing_role` for a door member). "
    "Without `organization_id`, in your personal organization, created on first use "
    "(needs the `organizer` role: 403 `missing_role`).",
    guards=[authenticated],
    security=BEARER,
)
@inject
async def create_event(
    data: JSONBody[NewEventIn], catalog: FromDishka[Catalog], principal: FromDishka[Principal]
) -> EventOut:
    event = await catalog.create_event(principal, core_input(data, NewEvent))
    return event_out(event, [])


@can_answer(
    "event_not_found",
    "missing_role",
    "event_cancelled",
    "currency_mismatch",
    "invalid_currency",
    "invalid_name",
    "invalid_capacity",
    "invalid_limit",
    "invalid_price",
    "invalid_shards",
    "invalid_sale_window",
    "naive_datetime",
    *WRITES,
)
@post(
    "/{event_id:uuid}/ticket-types",
    summary="Add a ticket type (owner or manager)",
    description="`sales_start`/`sales_end` (optional) bound the type's sale window.",
    guards=[authenticated],
    security=BEARER,
)
@inject
async def add_ticket_type(
    event_id: FromPath[UUID],
    data: JSONBody[NewTicketTypeIn],
    catalog: FromDishka[Catalog],
    principal: FromDishka[Principal],
    views: FromDishka[EventViewCache],
) -> TicketTypeOut:
    ticket_type = await catalog.add_ticket_type(
        principal,
        event_id,
        core_input(data, NewTicketType),
    )
    views.invalidate(event_id)  # a new ticket type records no domain event: no commit hook
    return new_ticket_type_out(ticket_type)


@can_answer("event_not_found", "missing_role", "event_cancelled", "no_ticket_types", *WRITES)
@post(
    "/{event_id:uuid}/publish",
    status_code=200,
    summary="Put the event on sale (owner or manager)",
    guards=[authenticated],
    security=BEARER,
)
@inject
async def publish_event(
    event_id: FromPath[UUID], catalog: FromDishka[Catalog], edits: FromDishka[EventEdits]
) -> EventOut:
    return await edits.apply(event_id, catalog.publish)


@can_answer("event_not_found", "missing_role", *WRITES)
@post(
    "/{event_id:uuid}/cancel",
    status_code=202,
    summary="Cancel the event (owner or manager)",
    guards=[authenticated],
    security=BEARER,
    description="Marks the event cancelled at once (no new hold, a payment still in flight "
    "is refunded) and answers `202` with the cancellation job, which releases every hold "
    "and refunds every order once in the background; buyers are notified. Follow "
    "`Location` (`GET /v1/jobs/{id}`) for its progress. Cancelling again answers the same "
    "job (a `failed` one is queued again).",
    response_headers=[
        ResponseHeader(
            name="Location",
            description="the job's URL, `/v1/jobs/{id}`",
            documentation_only=True,
        )
    ],
)
@inject
async def cancel_event(
    event_id: FromPath[UUID],
    cancellation: FromDishka[EventCancellation],
    principal: FromDishka[Principal],
    views: FromDishka[EventViewCache],
    runtime: FromDishka[Runner],
) -> Response[JobOut]:
    job = await cancellation.cancel(principal, event_id)
    views.invalidate(event_id)  # the commit hook has cleared it already, when there is one
    runtime.wake_jobs()
    return Response(job_out(job), status_code=202, headers={"Location": job_path(job.id)})


router = Router(
    path="/v1/events",
    tags=["events"],
    route_handlers=[
        list_events,
        get_event,
        edit_event,
        create_event,
        add_ticket_type,
        list_ticket_types,
        publish_event,
        cancel_event,
    ],
)
