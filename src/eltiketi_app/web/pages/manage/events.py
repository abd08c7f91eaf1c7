"""The back office's events: the organization's list (with the switcher), creating and
editing an event, its ticket types (sale windows, capacity), publishing, unpublishing,
and cancelling — with the cancellation job's progress, polled by htmx.

Every action is a use case the REST API calls too (``POST /v1/events``, ``PATCH
/v1/events/{id}``, ``POST …/ticket-types``, ``POST …/publish``, ``…/unpublish``,
``…/cancel``, ``GET /v1/jobs/{id}``); the forms only turn typed text into its values.
"""

from __future__ import annotations

from typing import Any, Final
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec
from dishka.integrations.litestar import FromDishka, inject
from litestar import Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from eltiketi_app.http.availability_cache import EventViewCache
from eltiketi_app.http.organizer_schemas import (
    EventChangesIn,
    TicketTypeChangesIn,
    ticket_type_changes,
)
from eltiketi_app.http.schemas import NewEventIn, NewTicketTypeIn, core_input
from eltiketi_app.web.i18n import Lang
from eltiketi_app.web.pages.common import PageNumber, Paging
from eltiketi_app.web.pages.manage.common import (
    PHASE_BADGES,
    PHASE_NAMES,
    EventPlace,
    ManageScreen,
    inline,
    notice_of,
    phase_of,
    status_of,
)
from eltiketi_app.web.pages.manage.forms import (
    EVENT_FIELDS,
    TICKET_TYPE_FIELDS,
    Form,
    local_input,
    price_input,
    timezones,
)
from eltiketi_core.domain.catalog import EventPhase, EventStatus
from eltiketi_core.domain.job import Job, JobStatus
from eltiketi_core.domain.organization import MemberRole
from eltiketi_core.errors import DomainError, NotFound, ValidationFailed
from eltiketi_core.ports.clock import Clock
from eltiketi_core.usecases.cancellation import EventCancellation
from eltiketi_core.usecases.catalog import Catalog, NewEvent, NewTicketType
from eltiketi_core.usecases.dashboard import Dashboards
from eltiketi_core.usecases.event_admin import (
    EventAdmin,
    EventChanges,
    TicketTypeStock,
)
from eltiketi_core.usecases.jobs import Jobs
from eltiketi_core.usecases.organizations import Organizations, OrganizationView

PAGE_SIZE = 25
DEFAULT_TIMEZONE = "Europe/Amsterdam"
EVENT_NOTICES = frozenset(
    {"event_created", "event_saved", "published", "unpublished", "type_added", "type_saved"}
)
#: Seconds between looks at a running cancellation job.
JOB_POLL_SECONDS = 1


# -- the organization's events --------------------------------------------------------


@get("/manage/organizations/{organization_id:uuid}", name="manage:events")
@inject
async def organization_events(
    *,
    organization_id: FromPath[UUID],
    organizations: FromDishka[Organizations],
    event_admin: FromDishka[EventAdmin],
    catalog: FromDishka[Catalog],
    clock: FromDishka[Clock],
    screen: FromDishka[ManageScreen],
    page_number: PageNumber = 1,
) -> Template:
    """Owners and managers see sales so far; door members see which events there are."""
    principal = screen.principal()
    organization = await screen.organization(organization_id)
    mine = await organizations.mine(principal)
    paging = Paging(page_number, PAGE_SIZE)
    rows: list[dict[str, Any]] = []
    if organization.role.includes(MemberRole.MANAGER):
        found = await event_admin.summaries(
            principal, organization_id=organization_id, limit=paging.limit, offset=paging.offset
        )
        for summary in paging.shown(found):
            rows.append(
                {
                    "event": summary.event,
                    **_phase(summary.phase, screen.lang),
                    "sold": summary.tickets_sold,
                    "capacity": summary.capacity,
                    "orders": summary.orders,
                    "gross": screen.lang.money(summary.gross),
                }
            )
        pager = paging.context(found)
    else:
        views = await catalog.of_organization(
            principal, organization_id, limit=paging.limit, offset=paging.offset
        )
        shown = paging.shown(views)
        rows = [{"event": v.event, **_phase(phase_of(v, clock), screen.lang)} for v in shown]
        pager = paging.context(views)
    return screen.render(
        "manage/events.html",
        title=organization.organization.name,
        organization=organization,
        tab="events",
        organizations=mine,
        rows=rows,
        **pager,
        notice=notice_of(screen.request, frozenset({"organization_created", "joined"})),
    )


def _phase(phase: EventPhase, lang: Lang) -> dict[str, str]:
    return {
        "phase": phase.value,
        "phase_name": lang.gettext(PHASE_NAMES[phase]),
        "badge": PHASE_BADGES[phase],
    }


# -- creating and editing an event ----------------------------------------------------


@get("/manage/organizations/{organization_id:uuid}/events/new", name="manage:event-new")
@inject
async def new_event_form(
    *, organization_id: FromPath[UUID], screen: FromDishka[ManageScreen]
) -> Template:
    organization = await screen.organization(organization_id, needs=MemberRole.MANAGER)
    values = {"timezone": DEFAULT_TIMEZONE, "locale": screen.lang.code, "currency": "EUR"}
    return _event_form(screen, organization=organization, values=values)


@post("/manage/organizations/{organization_id:uuid}/events", name="manage:event-create")
@inject
async def create_event(
    *,
    organization_id: FromPath[UUID],
    catalog: FromDishka[Catalog],
    screen: FromDishka[ManageScreen],
) -> Response[Any] | Template:
    principal = screen.principal(f"/manage/organizations/{organization_id}/events/new")
    form = await screen.form()

    async def create(checked: NewEventIn) -> str:
        wanted = core_input(checked, NewEvent)
        event = await catalog.create_event(
            principal, msgspec.structs.replace(wanted, organization_id=organization_id)
        )
        return f"/manage/events/{event.id}?done=event_created"

    done = await form.submit(
        _event_fields(form), NewEventIn, create, EVENT_FIELDS, refusals=ValidationFailed
    )
    if done is not None:
        return Redirect(done, status_code=303)
    return _event_form(
        screen,
        organization=await screen.organization(organization_id),
        values=form.values,
        errors=form.errors,
        status=422,
    )


@get("/manage/events/{event_id:uuid}/edit", name="manage:event-edit")
@inject
async def edit_event_form(
    *, event_id: FromPath[UUID], screen: FromDishka[ManageScreen]
) -> Template:
    place = await screen.place(event_id, needs=MemberRole.MANAGER)
    event = place.view.event
    values = {
        "name": event.name,
        "venue": event.venue,
        "starts_at": local_input(event.starts_at, event.timezone),
        "timezone": event.timezone,
        "locale": event.locale,
        "currency": event.currency,
        "description": event.description,
    }
    return _event_form(screen, place=place, values=values)


@post("/manage/events/{event_id:uuid}/edit", name="manage:event-save")
@inject
async def save_event(
    *,
    event_id: FromPath[UUID],
    event_admin: FromDishka[EventAdmin],
    views: FromDishka[EventViewCache],
    screen: FromDishka[ManageScreen],
) -> Response[Any] | Template:
    principal = screen.principal(f"/manage/events/{event_id}/edit")
    form = await screen.form()
    fields = _event_fields(form)

    async def save(checked: EventChangesIn) -> str:
        changes = EventChanges(**{k: getattr(checked, k) for k in fields})
        await event_admin.edit_event(principal, event_id, changes)
        views.invalidate(event_id)
        return f"/manage/events/{event_id}?done=event_saved"

    done = await form.submit(fields, EventChangesIn, save, EVENT_FIELDS)
    if done is not None:
        return Redirect(done, status_code=303)
    place = await screen.place(event_id)
    return _event_form(screen, place=place, values=form.values, errors=form.errors, status=422)


def _event_fields(form: Form) -> dict[str, Any]:
    """The event form's fields as the REST request has them (``starts_at`` at the venue)."""
    form.required("name")
    zone = form.zone("timezone")
    if zone is None:
        form.refuse("timezone")
    starts_at = form.moment("starts_at", zone, required=True)
    if len(form["currency"]) != 3 or not form["currency"].isalpha():
        form.refuse("currency")
    if not form["locale"]:
        form.refuse("locale")
    return {
        "name": form["name"],
        "venue": form["venue"],
        "starts_at": starts_at,
        "timezone": form["timezone"],
        "locale": form["locale"],
        "currency": form["currency"].upper(),
        "description": form["description"],
    }


def _event_form(
    screen: ManageScreen,
    *,
    values: dict[str, str],
    organization: OrganizationView | None = None,
    place: EventPlace | None = None,
    errors: list[Any] | None = None,
    status: int = 200,
) -> Template:
    lang = screen.lang
    editing = place is not None
    if place is not None:
        action = f"/manage/events/{place.view.event.id}/edit"
    else:
        assert organization is not None  # a new event is made in an organization
        action = f"/manage/organizations/{organization.organization.id}/events"
    return screen.render(
        "manage/event_form.html",
        status=status,
        title=lang.gettext("Edit the event") if editing else lang.gettext("New event"),
        organization=organization,
        place=place,
        tab="overview" if editing else "events",
        form=values,
        errors=errors or [],
        timezones=[(zone, zone) for zone in timezones()],
        action=action,
    )


# -- one event: overview, publish, unpublish ------------------------------------------


@get("/manage/events/{event_id:uuid}", name="manage:event")
@inject
async def event_overview(
    *,
    event_id: FromPath[UUID],
    event_admin: FromDishka[EventAdmin],
    clock: FromDishka[Clock],
    screen: FromDishka[ManageScreen],
) -> Template:
    place = await screen.place(event_id)
    notice = notice_of(screen.request, EVENT_NOTICES)
    return await _overview(screen, place, event_admin, clock, notice=notice)


#: Putting an event on sale and taking it off (the path's last part), and the notice each
#: leaves. Publishing needs the catalog, unpublishing the event admin.
_SALE_SWITCHES: Final = {"publish": "published", "unpublish": "unpublished"}


@post(
    [f"/manage/events/{{event_id:uuid}}/{name}" for name in _SALE_SWITCHES],
    name="manage:sale-switch",
)
@inject
async def switch_sale(
    *,
    event_id: FromPath[UUID],
    catalog: FromDishka[Catalog],
    event_admin: FromDishka[EventAdmin],
    views: FromDishka[EventViewCache],
    clock: FromDishka[Clock],
    screen: FromDishka[ManageScreen],
) -> Response[Any] | Template:
    """Publish or unpublish the event; refused, its overview says why."""
    switch = screen.request.scope["path_template"].rsplit("/", 1)[-1]
    principal = screen.principal(f"/manage/events/{event_id}")
    try:
        if switch == "publish":
            await catalog.publish(principal, event_id)
        else:
            await event_admin.unpublish(principal, event_id)
    except DomainError as problem:
        if not inline(problem):
            raise
        place = await screen.place(event_id)
        return await _overview(
            screen, place, event_admin, clock, notice=problem.code, status=status_of(problem)
        )
    views.invalidate(event_id)
    done = _SALE_SWITCHES[switch]
    return Redirect(f"/manage/events/{event_id}?done={done}", status_code=303)


async def _overview(
    screen: ManageScreen,
    place: EventPlace,
    event_admin: EventAdmin,
    clock: Clock,
    *,
    notice: str | None = None,
    status: int = 200,
) -> Template:
    lang, visitor = screen.lang, screen.visitor
    event = place.view.event
    types: list[dict[str, Any]] = []
    if place.can_manage:
        assert visitor.principal is not None
        for stock in await event_admin.stock(visitor.principal, event.id):
            types.append(_type_row(stock, event.timezone, lang))
    else:
        types = [
            {"id": t.id, "name": t.name, "price": lang.money(t.price), "window": ""}
            for t in place.view.ticket_types
        ]
    phase = phase_of(place.view, clock)
    return screen.render(
        "manage/event.html",
        status=status,
        title=event.name,
        place=place,
        tab="overview",
        phase_name=lang.gettext(PHASE_NAMES[phase]),
        badge=PHASE_BADGES[phase],
        when=f"{lang.date(event.starts_at, event.timezone)} · "
        f"{lang.time(event.starts_at, event.timezone)}",
        zone=lang.zone(event.timezone),
        types=types,
        is_draft=event.status is EventStatus.DRAFT,
        is_published=event.status is EventStatus.PUBLISHED,
        is_cancelled=event.status is EventStatus.CANCELLED,
        notice=notice,
    )


def _type_row(stock: TicketTypeStock, timezone: str, lang: Lang) -> dict[str, Any]:
    ticket_type = stock.ticket_type
    start, end = ticket_type.sales_start, ticket_type.sales_end
    if start and end:
        window = lang.gettext("%(start)s to %(end)s") % {
            "start": lang.moment(start, timezone),
            "end": lang.moment(end, timezone),
        }
    elif start:
        window = lang.gettext("from %(start)s") % {"start": lang.moment(start, timezone)}
    elif end:
        window = lang.gettext("until %(end)s") % {"end": lang.moment(end, timezone)}
    else:
        window = lang.gettext("until the event starts")
    return {
        "id": ticket_type.id,
        "name": ticket_type.name,
        "price": lang.money(ticket_type.price),
        "capacity": stock.capacity,
        "held": stock.held,
        "sold": stock.sold,
        "available": stock.available,
        "max_per_booking": ticket_type.max_per_booking,
        "shards": ticket_type.shards,
        "window": window,
    }


# -- ticket types -----------------------------------------------------------------------


@get("/manage/events/{event_id:uuid}/ticket-types/new", name="manage:type-new")
@inject
async def new_type_form(*, event_id: FromPath[UUID], screen: FromDishka[ManageScreen]) -> Template:
    place = await screen.place(event_id, needs=MemberRole.MANAGER)
    return _type_form(screen, place, {"max_per_booking": "10", "shards": "1"})


@post("/manage/events/{event_id:uuid}/ticket-types", name="manage:type-create")
@inject
async def create_type(
    *,
    event_id: FromPath[UUID],
    catalog: FromDishka[Catalog],
    views: FromDishka[EventViewCache],
    screen: FromDishka[ManageScreen],
) -> Response[Any] | Template:
    principal = screen.principal(f"/manage/events/{event_id}/ticket-types/new")
    place = await screen.place(event_id)
    form = await screen.form()
    fields = _type_fields(form, place)
    fields["shards"] = form.whole("shards", default=1)

    async def add(checked: NewTicketTypeIn) -> str:
        await catalog.add_ticket_type(principal, event_id, core_input(checked, NewTicketType))
        views.invalidate(event_id)
        return f"/manage/events/{event_id}?done=type_added"

    done = await form.submit(fields, NewTicketTypeIn, add, TICKET_TYPE_FIELDS)
    if done is not None:
        return Redirect(done, status_code=303)
    return _type_form(screen, place, form.values, form.errors, status=422)


@get(
    "/manage/events/{event_id:uuid}/ticket-types/{ticket_type_id:uuid}/edit",
    name="manage:type-edit",
)
@inject
async def edit_type_form(
    *,
    event_id: FromPath[UUID],
    ticket_type_id: FromPath[UUID],
    event_admin: FromDishka[EventAdmin],
    screen: FromDishka[ManageScreen],
) -> Template:
    principal = screen.principal()
    place = await screen.place(event_id)
    stock = _one_type(await event_admin.stock(principal, event_id), ticket_type_id)
    ticket_type, zone = stock.ticket_type, place.view.event.timezone
    values = {
        "name": ticket_type.name,
        "price": price_input(ticket_type.price, screen.lang),
        "capacity": str(stock.capacity),
        "max_per_booking": str(ticket_type.max_per_booking),
        "shards": str(ticket_type.shards),
        "sales_start": local_input(ticket_type.sales_start, zone),
        "sales_end": local_input(ticket_type.sales_end, zone),
    }
    return _type_form(screen, place, values, stock=stock)


@post(
    "/manage/events/{event_id:uuid}/ticket-types/{ticket_type_id:uuid}/edit",
    name="manage:type-save",
)
@inject
async def save_type(
    *,
    event_id: FromPath[UUID],
    ticket_type_id: FromPath[UUID],
    event_admin: FromDishka[EventAdmin],
    views: FromDishka[EventViewCache],
    screen: FromDishka[ManageScreen],
) -> Response[Any] | Template:
    principal = screen.principal(f"/manage/events/{event_id}")
    place = await screen.place(event_id)
    form = await screen.form()

    async def save(checked: TicketTypeChangesIn) -> str:
        changes = ticket_type_changes(checked)
        await event_admin.edit_ticket_type(principal, event_id, ticket_type_id, changes)
        views.invalidate(event_id)
        return f"/manage/events/{event_id}?done=type_saved"

    done = await form.submit(
        _type_fields(form, place), TicketTypeChangesIn, save, TICKET_TYPE_FIELDS
    )
    if done is not None:
        return Redirect(done, status_code=303)
    stock = _one_type(await event_admin.stock(principal, event_id), ticket_type_id)
    return _type_form(screen, place, form.values, form.errors, stock=stock, status=422)


def _one_type(stocks: list[TicketTypeStock], ticket_type_id: UUID) -> TicketTypeStock:
    for stock in stocks:
        if stock.ticket_type.id == ticket_type_id:
            return stock
    raise NotFound("ticket_type_not_found", "no such ticket type in this event")


def _type_fields(form: Form, place: EventPlace) -> dict[str, Any]:
    event = place.view.event
    zone = ZoneInfo(event.timezone)
    form.required("name")
    price = form.money("price", event.currency)
    return {
        "name": form["name"],
        "price": {"amount": price.amount, "currency": price.currency} if price else None,
        "capacity": form.whole("capacity"),
        "max_per_booking": form.whole("max_per_booking", default=10),
        "sales_start": form.moment("sales_start", zone, required=False),
        "sales_end": form.moment("sales_end", zone, required=False),
    }


def _type_form(
    screen: ManageScreen,
    place: EventPlace,
    values: dict[str, str],
    errors: list[Any] | None = None,
    *,
    stock: TicketTypeStock | None = None,
    status: int = 200,
) -> Template:
    lang, event = screen.lang, place.view.event
    action = (
        f"/manage/events/{event.id}/ticket-types/{stock.ticket_type.id}/edit"
        if stock is not None
        else f"/manage/events/{event.id}/ticket-types"
    )
    return screen.render(
        "manage/type_form.html",
        status=status,
        title=lang.gettext("Edit a ticket type") if stock else lang.gettext("New ticket type"),
        place=place,
        tab="overview",
        form=values,
        errors=errors or [],
        stock=stock,
        action=action,
        zone=lang.zone(event.timezone),
    )


# -- cancelling the event, and the job's progress -------------------------------------


@get("/manage/events/{event_id:uuid}/cancel", name="manage:cancel-confirm")
@inject
async def cancel_confirm(
    *,
    event_id: FromPath[UUID],
    dashboards: FromDishka[Dashboards],
    screen: FromDishka[ManageScreen],
) -> Template:
    """What cancelling would do, before it is done: every order refunded, buyers told."""
    principal = screen.principal()
    place = await screen.place(event_id)
    dashboard = await dashboards.for_event(principal, event_id, hours=1)
    return screen.render(
        "manage/cancel_event.html",
        title=screen.lang.gettext("Cancel this event?"),
        place=place,
        tab="overview",
        orders=dashboard.orders,
        held=dashboard.held,
        to_refund=screen.lang.money(dashboard.net),
    )


@post("/manage/events/{event_id:uuid}/cancel", name="manage:cancel")
@inject
async def cancel_event(
    *,
    event_id: FromPath[UUID],
    cancellation: FromDishka[EventCancellation],
    views: FromDishka[EventViewCache],
    screen: FromDishka[ManageScreen],
) -> Response[Any]:
    principal = screen.principal(f"/manage/events/{event_id}/cancel")
    job = await cancellation.cancel(principal, event_id)
    views.invalidate(event_id)
    return Redirect(f"/manage/jobs/{job.id}", status_code=303)


@get("/manage/jobs/{job_id:uuid}", name="manage:job")
@inject
async def job_page(
    *, job_id: FromPath[UUID], jobs: FromDishka[Jobs], screen: FromDishka[ManageScreen]
) -> Template:
    principal = screen.principal()
    job = await jobs.get(principal, job_id)
    place = await screen.place(job.event_id)
    return screen.render(
        "manage/job.html",
        title=screen.lang.gettext("Cancelling the event"),
        place=place,
        tab="overview",
        **_job_context(job),
    )


@get("/manage/jobs/{job_id:uuid}/progress", name="manage:job-progress")
@inject
async def job_progress(
    *, job_id: FromPath[UUID], jobs: FromDishka[Jobs], screen: FromDishka[ManageScreen]
) -> Template:
    """The progress box alone, for htmx to swap in while the job runs."""
    principal = screen.principal(f"/manage/jobs/{job_id}")
    job = await jobs.get(principal, job_id)
    return screen.fragment("manage/_job.html", **_job_context(job))


def _job_context(job: Job) -> dict[str, Any]:
    total = job.orders_refunded + job.orders_remaining
    finished = job.status in {JobStatus.DONE, JobStatus.FAILED}
    return {
        "job": job,
        "finished": finished,
        "failed": job.status is JobStatus.FAILED,
        "total": total,
        "percent": 100
        if job.status is JobStatus.DONE
        else (int(100 * job.orders_refunded / total) if total else 0),
        "poll_seconds": JOB_POLL_SECONDS,
    }


ROUTES = [
    organization_events,
    new_event_form,
    create_event,
    edit_event_form,
    save_event,
    event_overview,
    switch_sale,
    new_type_form,
    create_type,
    edit_type_form,
    save_type,
    cancel_confirm,
    cancel_event,
    job_page,
    job_progress,
]
