"""The shop window: the events on sale (``/``), one event (``/events/{id}``) with its live
availability fragment, and the Reserve form (seed steps 1–8)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from uuid import UUID, uuid4

from dishka.integrations.litestar import FromDishka, inject
from litestar import Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from eltiketi_app.http.availability_cache import PublicEvents
from eltiketi_app.web.auth import WebLogin
from eltiketi_app.web.i18n import N_, Lang
from eltiketi_app.web.pages.common import PageNumber, Paging, Screen, fragment
from eltiketi_app.web.views import few_left, price_from, sale_state
from eltiketi_core.domain.identity import Principal
from eltiketi_core.errors import Conflict, DomainError, ValidationFailed
from eltiketi_core.ports.clock import Clock
from eltiketi_core.usecases import EventView, ItemRequest, ReserveRequest
from eltiketi_core.usecases.booking import Bookings
from eltiketi_core.usecases.catalog import Catalog

PAGE_SIZE = 12
MAX_IDEMPOTENCY_KEY = 255
#: How long a second click waits for the first one's reservation (same Idempotency-Key).
IN_FLIGHT_WAIT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class TypeRow:
    """One ticket type as the event page lists it."""

    id: UUID
    name: str
    price: str
    available: int
    few_left: bool
    #: the largest quantity the picker offers (0: none can be chosen)
    most: int
    selected: int


@dataclass(frozen=True, slots=True)
class EventPage(Screen):
    """The event page (``/events/{id}``) of one request, with what it is drawn from: the
    page itself and the Reserve form, which shows it again, saying why, when refused."""

    events: PublicEvents
    bookings: Bookings
    clock: Clock

    async def show(
        self,
        view: EventView,
        *,
        selected: dict[UUID, int],
        errors: list[dict[str, str]] | None = None,
        refusal: str | None = None,
        status: int = 200,
    ) -> Template:
        remaining = None
        principal = self.visitor.principal
        if principal is not None:
            try:
                remaining = (await self.bookings.allowance(principal, view.event.id)).remaining
            except DomainError:
                remaining = None
        return self.render(
            "event.html",
            status=status,
            title=view.event.name,
            view=view,
            event=view.event,
            state=sale_state(view, self.clock.now()),
            types=_rows(view, remaining, selected, self.lang),
            remaining=remaining,
            errors=errors or [],
            refusal=refusal,
            idempotency_key=uuid4().hex,
        )


@get("/", name="web:home", summary="The shop: events on sale")
@inject
async def home(
    *,
    clock: FromDishka[Clock],
    catalog: FromDishka[Catalog],
    screen: FromDishka[Screen],
    page_number: PageNumber = 1,
) -> Template:
    paging = Paging(page_number, PAGE_SIZE)
    views = await catalog.list_published(limit=paging.limit, offset=paging.offset, upcoming=True)
    now = clock.now()
    cards = [
        {"view": view, "state": sale_state(view, now), "price_from": price_from(view)}
        for view in paging.shown(views)
    ]
    return screen.render(
        "home.html",
        title=screen.lang.gettext("Upcoming events"),
        cards=cards,
        **paging.context(views),
    )


@get("/events/{event_id:uuid}", name="web:event", summary="One event and its tickets")
@inject
async def event_page(*, event_id: FromPath[UUID], shop: FromDishka[EventPage]) -> Template:
    view = await shop.events.get(event_id)
    return await shop.show(view, selected=_quantities(shop.request.query_params, view))


@get(
    "/events/{event_id:uuid}/availability",
    name="web:availability",
    summary="What is left of each ticket type (an htmx fragment)",
    opt={"skip_session": True},
    cache_control=None,
)
@inject
async def availability(
    event_id: FromPath[UUID], events: FromDishka[PublicEvents], lang: FromDishka[Lang]
) -> Template:
    view = await events.get(event_id)
    return fragment("_availability.html", lang, types=_rows(view, None, {}, lang))


@post("/events/{event_id:uuid}/reserve", name="web:reserve", summary="Reserve the chosen tickets")
@inject
async def reserve(
    *, event_id: FromPath[UUID], shop: FromDishka[EventPage], login: FromDishka[WebLogin]
) -> Response[Any] | Template:
    view = await shop.events.get(event_id)
    form = await shop.request.form()
    selected, errors = _chosen(form, view, shop.lang)
    if errors:
        return await shop.show(view, selected=selected, errors=errors, status=422)
    principal = shop.visitor.principal
    if principal is None:
        query = urlencode({f"qty-{type_id}": n for type_id, n in selected.items()})
        return Redirect(login.login_url(f"/events/{event_id}?{query}"), status_code=303)
    key = str(form.get("idempotency_key") or "")[:MAX_IDEMPOTENCY_KEY] or None
    wanted = ReserveRequest(
        event_id=event_id,
        items=tuple(
            ItemRequest(ticket_type_id=type_id, quantity=quantity)
            for type_id, quantity in selected.items()
        ),
        locale=shop.lang.tag,  # the e-tickets are written in the language of the shop
    )
    try:
        reservation = await _reserve(shop.bookings, principal, wanted, key)
    except (Conflict, ValidationFailed) as problem:
        return await shop.show(
            await shop.events.get(event_id),
            selected=selected,
            refusal=problem.code,
            status=409 if isinstance(problem, Conflict) else 422,
        )
    return Redirect(f"/bookings/{reservation.booking.id}", status_code=303)


async def _reserve(
    bookings: Bookings, principal: Principal, request: ReserveRequest, key: str | None
) -> Any:
    """Reserve; a second click with the same key waits for the first click's answer."""
    deadline = asyncio.get_running_loop().time() + IN_FLIGHT_WAIT_SECONDS
    while True:
        try:
            return await bookings.reserve(principal, request, idempotency_key=key)
        except Conflict as problem:
            if problem.code != "idempotency_in_flight":
                raise
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.05)


def _quantities(params: Any, view: EventView) -> dict[UUID, int]:
    """Quantities carried in the query (``qty-<type id>=2``): a selection kept across login."""
    chosen: dict[UUID, int] = {}
    for ticket_type in view.ticket_types:
        raw = params.get(f"qty-{ticket_type.id}")
        if raw is not None and raw.isdigit() and 0 < int(raw) <= ticket_type.max_per_booking:
            chosen[ticket_type.id] = int(raw)
    return chosen


def _chosen(form: Any, view: EventView, lang: Lang) -> tuple[dict[UUID, int], list[dict[str, str]]]:
    """The form's quantities and, for anything off, errors naming the field (GOV.UK style)."""
    chosen: dict[UUID, int] = {}
    errors: list[dict[str, str]] = []
    for ticket_type in view.ticket_types:
        raw = str(form.get(f"qty-{ticket_type.id}") or "0").strip()
        if not raw.isdigit() or int(raw) > ticket_type.max_per_booking:
            errors.append(
                {
                    "field": f"qty-{ticket_type.id}",
                    "text": lang.gettext("Choose from 0 to %(most)d %(name)s tickets")
                    % {"most": ticket_type.max_per_booking, "name": ticket_type.name},
                }
            )
            continue
        if int(raw) > 0:
            chosen[ticket_type.id] = int(raw)
    if not errors and not chosen and view.ticket_types:
        errors.append(
            {
                "field": f"qty-{view.ticket_types[0].id}",
                "text": lang.gettext(N_("Choose at least one ticket")),
            }
        )
    return chosen, errors


def _rows(
    view: EventView, remaining: int | None, selected: dict[UUID, int], lang: Lang
) -> list[TypeRow]:
    rows = []
    for ticket_type in view.ticket_types:
        most = min(ticket_type.max_per_booking, ticket_type.available)
        if remaining is not None:
            most = min(most, remaining)
        rows.append(
            TypeRow(
                id=ticket_type.id,
                name=ticket_type.name,
                price=lang.money(ticket_type.price),
                available=ticket_type.available,
                few_left=few_left(ticket_type),
                most=max(most, 0),
                selected=min(selected.get(ticket_type.id, 0), max(most, 0)),
            )
        )
    return rows
