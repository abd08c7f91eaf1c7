"""Orders (``/orders``, ``/orders/{id}``): the tickets with their QR codes, Add to calendar,
Send again and Cancel (with the refund stated before confirming)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from eltiketi_app.http.availability_cache import PublicEvents
from eltiketi_app.ioc.types import QrRenderer
from eltiketi_app.web.i18n import Lang
from eltiketi_app.web.ics import calendar
from eltiketi_app.web.links import TicketLinks
from eltiketi_app.web.pages.common import NO_STORE, PageNumber, Paging, Screen
from eltiketi_core.domain.order import Order, OrderStatus, TicketStatus
from eltiketi_core.errors import DomainError
from eltiketi_core.ports.clock import Clock
from eltiketi_core.usecases import EventView, OrderView
from eltiketi_core.usecases.notifications import Notifications
from eltiketi_core.usecases.orders import Orders

PAGE_SIZE = 20


def order_reference(order: Order) -> str:
    """What a buyer reads out to support: the order's short code."""
    reference = getattr(order, "reference", None)  # a short code of its own, where the core has one
    return str(reference) if reference else order.id.hex[:8].upper()


def qr_svg(token: str, qr: QrRenderer) -> str:
    """The QR code as an inline ``<svg>`` element (the SVG document without its XML prolog)."""
    document = qr.svg(token).decode()
    return document[document.index("<svg") :]


def ticket_cards(
    view: OrderView, event_view: EventView | None, lang: Lang, qr: QrRenderer
) -> list[dict[str, Any]]:
    names = {t.id: t.name for t in event_view.ticket_types} if event_view else {}
    valid = [t for t in view.tickets if t.status is TicketStatus.VALID]
    return [
        {
            "number": number,
            "count": len(valid),
            "id": ticket.id,
            "type_name": names.get(ticket.ticket_type_id, lang.gettext("Ticket")),
            "holder_name": ticket.holder_name,
            "qr": qr_svg(ticket.token, qr),
        }
        for number, ticket in enumerate(valid, start=1)
    ]


@dataclass(frozen=True, slots=True)
class OrderPage(Screen):
    """The order page (``/orders/{id}``) of one request, with what it is drawn from.

    The container hands it to the routes that show it: the page itself, and the actions
    (send again, cancel) that show it again, saying why, when they are refused.
    """

    orders: Orders
    events: PublicEvents
    links: TicketLinks
    qr: QrRenderer

    async def show(
        self, view: OrderView, *, notice: str | None = None, status: int = 200
    ) -> Template:
        lang, visitor = self.lang, self.visitor
        event_view = await self.events.find(view.order.event_id)
        event = event_view.event if event_view else None
        names = {t.id: t.name for t in event_view.ticket_types} if event_view else {}
        refunded = view.order.status is OrderStatus.REFUNDED
        terms = None
        if not refunded and visitor.principal is not None:
            terms = await self.orders.cancellation_terms(visitor.principal, view.order.id)
        share_link = None
        if event and not refunded:
            share_link = self.links.url(view.order.id, event.starts_at)
        return self.render(
            "order.html",
            status=status,
            title=lang.gettext("Your tickets"),
            order=view.order,
            reference=order_reference(view.order),
            event=event,
            refunded=refunded,
            lines=[
                {
                    "name": names.get(item.ticket_type_id, lang.gettext("Ticket")),
                    "quantity": item.quantity,
                    "subtotal": lang.money(item.subtotal),
                }
                for item in view.order.items
            ],
            total=lang.money(view.order.total),
            tickets=[] if refunded else ticket_cards(view, event_view, lang, self.qr),
            terms=terms,
            share_link=share_link,
            notice=notice,
        )


@get("/orders", name="web:orders", summary="My orders")
@inject
async def orders_page(
    *,
    orders: FromDishka[Orders],
    events: FromDishka[PublicEvents],
    screen: FromDishka[Screen],
    page_number: PageNumber = 1,
) -> Template:
    lang = screen.lang
    paging = Paging(page_number, PAGE_SIZE)
    found = await orders.list(screen.principal(), limit=paging.limit, offset=paging.offset)
    seen: dict[UUID, EventView | None] = {}
    rows = []
    for view in paging.shown(found):
        event_id = view.order.event_id
        if event_id not in seen:
            seen[event_id] = await events.find(event_id)
        event_view = seen[event_id]
        rows.append(
            {
                "order": view.order,
                "reference": order_reference(view.order),
                "event": event_view.event if event_view else None,
                "tickets": sum(item.quantity for item in view.order.items),
                "total": lang.money(view.order.total),
                "refunded": view.order.status is OrderStatus.REFUNDED,
            }
        )
    return screen.render(
        "orders.html", title=lang.gettext("My orders"), rows=rows, **paging.context(found)
    )


@get("/orders/{order_id:uuid}", name="web:order", summary="One order and its tickets")
@inject
async def order_page(*, order_id: FromPath[UUID], shown: FromDishka[OrderPage]) -> Template:
    view = await shown.orders.get(shown.principal(), order_id)
    notice = {"sent": "tickets_sent", "cancelled": "order_cancelled"}.get(
        shown.request.query_params.get("done") or ""
    )
    return await shown.show(view, notice=notice)


@post("/orders/{order_id:uuid}/resend", name="web:resend", summary="Send the tickets again")
@inject
async def resend(
    *,
    order_id: FromPath[UUID],
    notifications: FromDishka[Notifications],
    shown: FromDishka[OrderPage],
) -> Response[Any] | Template:
    principal = shown.principal(f"/orders/{order_id}")
    try:
        await notifications.resend_tickets(principal, order_id)
    except DomainError as problem:
        view = await shown.orders.get(principal, order_id)
        status = 429 if problem.kind == "rate_limited" else 409
        return await shown.show(view, notice=problem.code, status=status)
    return Redirect(f"/orders/{order_id}?done=sent", status_code=303)


@get("/orders/{order_id:uuid}/cancel", name="web:cancel-terms", summary="Cancel: the terms first")
@inject
async def cancel_terms(
    *,
    order_id: FromPath[UUID],
    orders: FromDishka[Orders],
    events: FromDishka[PublicEvents],
    screen: FromDishka[Screen],
) -> Template:
    principal, lang = screen.principal(), screen.lang
    view = await orders.get(principal, order_id)
    terms = await orders.cancellation_terms(principal, order_id)
    event_view = await events.find(view.order.event_id)
    event = event_view.event if event_view else None
    return screen.render(
        "cancel.html",
        title=lang.gettext("Cancel this order?"),
        order=view.order,
        reference=order_reference(view.order),
        event=event,
        terms=terms,
        refund=lang.money(terms.refund),
        deadline=lang.datetime(terms.deadline, event.timezone) if event else "",
    )


@post("/orders/{order_id:uuid}/cancel", name="web:cancel", summary="Cancel the order")
@inject
async def cancel(
    *, order_id: FromPath[UUID], shown: FromDishka[OrderPage]
) -> Response[Any] | Template:
    principal = shown.principal(f"/orders/{order_id}")
    try:
        await shown.orders.cancel(principal, order_id)
    except DomainError as problem:
        view = await shown.orders.get(principal, order_id)
        return await shown.show(view, notice=problem.code, status=409)
    return Redirect(f"/orders/{order_id}?done=cancelled", status_code=303)


@get(
    "/orders/{order_id:uuid}/calendar.ics",
    name="web:calendar",
    summary="The event as a calendar entry",
)
@inject
async def calendar_file(
    *, order_id: FromPath[UUID], clock: FromDishka[Clock], shown: FromDishka[OrderPage]
) -> Response[bytes]:
    principal = shown.principal()
    view = await shown.orders.get(principal, order_id)
    event = (await shown.events.get(view.order.event_id, principal)).event
    body = calendar(
        event,
        uid=f"{view.order.id}@eltiketi",
        url=str(shown.request.base_url).rstrip("/") + f"/orders/{order_id}",
        now=clock.now(),
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            **NO_STORE,
            "Content-Disposition": 'attachment; filename="event.ics"',
        },
    )
