"""An event's orders in the back office: search (order number, e-mail, phone, buyer or a name
on a ticket), one order with its payments, refunds and tickets, refunding it (after a
confirmation) and sending its tickets again.

The same use cases as ``GET /v1/events/{id}/orders``, ``…/orders/{order_id}``,
``…/refund`` and ``…/resend``, with the same rules: a refund of an order whose ticket
was scanned is refused (``409 ticket_used``) and said in a sentence; a door member is
refused (403 page); another organization's order is the 404 page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Final
from urllib.parse import urlencode
from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from eltiketi_app.web.i18n import N_
from eltiketi_app.web.pages.common import PageNumber, Paging
from eltiketi_app.web.pages.manage.common import (
    EventPlace,
    ManageScreen,
    inline,
    notice_of,
    status_of,
)
from eltiketi_app.web.pages.manage.forms import Form
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.order import OrderStatus, TicketStatus
from eltiketi_core.domain.payment import PaymentStatus, RefundReason, RefundStatus
from eltiketi_core.errors import DomainError, ValidationFailed
from eltiketi_core.usecases.organizer_orders import OrderDetail, OrganizerOrders

PAGE_SIZE = 25
#: Codes whose buyer's sentence ("we sent your tickets…") reads wrong to an organizer.
ORGANIZER_WORDING = {"resend_rate_limited": "resend_rate_limited_organizer"}
ORDER_NOTICES = frozenset({"refund_done", "tickets_resent"})
STATUS_NAMES = {
    OrderStatus.CONFIRMED: N_("Confirmed"),
    OrderStatus.REFUNDED: N_("Refunded"),
}
STATUS_BADGES = {OrderStatus.CONFIRMED: "badge-ok", OrderStatus.REFUNDED: "badge-out"}
PAYMENT_NAMES = {
    PaymentStatus.OPEN: N_("Open"),
    PaymentStatus.FAILED: N_("Declined"),
    PaymentStatus.CANCELLED: N_("Cancelled"),
    PaymentStatus.SUCCEEDED: N_("Paid"),
    PaymentStatus.REFUNDED: N_("Refunded"),
}
REFUND_NAMES = {
    RefundStatus.PENDING: N_("Being paid back"),
    RefundStatus.SUCCEEDED: N_("Paid back"),
    RefundStatus.FAILED: N_("Failed, retried"),
}
REASON_NAMES = {
    RefundReason.ORGANIZER_CANCELLED: N_("Refunded by the organizer"),
    RefundReason.CUSTOMER_CANCELLED: N_("Cancelled by the buyer"),
    RefundReason.EVENT_CANCELLED: N_("The event was cancelled"),
    RefundReason.HOLD_LOST: N_("Paid after the reservation ended"),
    RefundReason.DUPLICATE_PAYMENT: N_("Paid twice"),
}


@get("/manage/events/{event_id:uuid}/orders", name="manage:orders")
@inject
async def orders_page(
    *,
    event_id: FromPath[UUID],
    organizer_orders: FromDishka[OrganizerOrders],
    screen: FromDishka[ManageScreen],
    q: Annotated[str, QueryParameter(name="q", max_length=1000)] = "",
    status: Annotated[str, QueryParameter(name="status", max_length=20)] = "",
    page_number: PageNumber = 1,
) -> Template:
    principal = screen.principal()
    place = await screen.place(event_id)
    chosen = OrderStatus(status) if status in {s.value for s in OrderStatus} else None
    form = Form({"q": q}, screen.lang)
    paging = Paging(page_number, PAGE_SIZE)
    found = []
    try:
        found = await organizer_orders.search(
            principal,
            event_id,
            q or None,
            status=chosen,
            limit=paging.limit,
            offset=paging.offset,
        )
    except ValidationFailed:  # a search text over 320 characters
        form.refuse("q")
    names = _type_names(place)
    rows = [
        {
            "order": order,
            "when": screen.lang.moment(order.created_at, place.view.event.timezone),
            "tickets": sum(item.quantity for item in order.items),
            "kinds": ", ".join(sorted({names.get(i.ticket_type_id, "") for i in order.items})),
            "total": screen.lang.money(order.total),
            "status_name": screen.lang.gettext(STATUS_NAMES[order.status]),
            "badge": STATUS_BADGES[order.status],
        }
        for order in paging.shown(found)
    ]
    return screen.render(
        "manage/orders.html",
        status=422 if form.errors else 200,
        title=screen.lang.gettext("Orders"),
        place=place,
        tab="orders",
        rows=rows,
        q=q,
        chosen=chosen.value if chosen else "",
        statuses=[(s.value, screen.lang.gettext(STATUS_NAMES[s])) for s in OrderStatus],
        errors=form.errors,
        **paging.context(found),
        query=_query(q, chosen),
    )


def _query(q: str, status: OrderStatus | None) -> str:
    """The search's own query string, for the pager's links."""
    return urlencode({k: v for k, v in (("q", q), ("status", status.value if status else "")) if v})


def _type_names(place: EventPlace) -> dict[UUID, str]:
    return {t.id: t.name for t in place.view.ticket_types}


@get("/manage/events/{event_id:uuid}/orders/{order_id:uuid}", name="manage:order")
@inject
async def order_page(
    *,
    event_id: FromPath[UUID],
    order_id: FromPath[UUID],
    organizer_orders: FromDishka[OrganizerOrders],
    screen: FromDishka[ManageScreen],
) -> Template:
    principal = screen.principal()
    place = await screen.place(event_id)
    detail = await organizer_orders.detail(principal, event_id, order_id)
    return _order(screen, place, detail, notice=notice_of(screen.request, ORDER_NOTICES))


@get(
    "/manage/events/{event_id:uuid}/orders/{order_id:uuid}/refund",
    name="manage:refund-confirm",
)
@inject
async def refund_confirm(
    *,
    event_id: FromPath[UUID],
    order_id: FromPath[UUID],
    organizer_orders: FromDishka[OrganizerOrders],
    screen: FromDishka[ManageScreen],
) -> Response[Any] | Template:
    """What refunding does, before it is done."""
    principal = screen.principal()
    place = await screen.place(event_id)
    detail = await organizer_orders.detail(principal, event_id, order_id)
    if detail.order.status is not OrderStatus.CONFIRMED:
        return Redirect(f"/manage/events/{event_id}/orders/{order_id}", status_code=303)
    return screen.render(
        "manage/refund.html",
        title=screen.lang.gettext("Refund this order?"),
        place=place,
        tab="orders",
        order=detail.order,
        total=screen.lang.money(detail.order.total),
        tickets=sum(1 for t in detail.tickets if t.status is TicketStatus.VALID),
    )


#: What the order page's buttons do (the path's last part), and the notice each leaves.
_ORDER_ACTIONS: Final[
    dict[str, tuple[Callable[[OrganizerOrders, Principal, UUID, UUID], Awaitable[object]], str]]
] = {
    "refund": (OrganizerOrders.refund, "refund_done"),
    "resend": (OrganizerOrders.resend, "tickets_resent"),
}


@post(
    [
        f"/manage/events/{{event_id:uuid}}/orders/{{order_id:uuid}}/{name}"
        for name in _ORDER_ACTIONS
    ],
    name="manage:order-action",
)
@inject
async def order_action(
    *,
    event_id: FromPath[UUID],
    order_id: FromPath[UUID],
    organizer_orders: FromDishka[OrganizerOrders],
    screen: FromDishka[ManageScreen],
) -> Response[Any] | Template:
    """Refund the order, or send its tickets again."""
    action, done = _ORDER_ACTIONS[screen.request.scope["path_template"].rsplit("/", 1)[-1]]
    principal = screen.principal(f"/manage/events/{event_id}/orders/{order_id}")
    try:
        await action(organizer_orders, principal, event_id, order_id)
    except DomainError as problem:
        return await _refused(problem, screen, event_id, order_id, organizer_orders)
    return Redirect(f"/manage/events/{event_id}/orders/{order_id}?done={done}", status_code=303)


async def _refused(
    problem: DomainError,
    screen: ManageScreen,
    event_id: UUID,
    order_id: UUID,
    organizer_orders: OrganizerOrders,
) -> Template:
    """The order page again, saying in a sentence why the action was refused
    (``problem`` goes on up when the page cannot say it)."""
    if not inline(problem):
        raise problem
    principal = screen.principal()
    place = await screen.place(event_id)
    detail = await organizer_orders.detail(principal, event_id, order_id)
    notice = ORGANIZER_WORDING.get(problem.code, problem.code)
    page = _order(screen, place, detail, notice=notice)
    page.status_code = status_of(problem)
    if "retry_after" in problem.extra:
        page.headers["Retry-After"] = str(problem.extra["retry_after"])
    return page


def _order(
    screen: ManageScreen, place: EventPlace, detail: OrderDetail, *, notice: str | None
) -> Template:
    lang, order, zone = screen.lang, detail.order, place.view.event.timezone
    names = _type_names(place)
    scanned = {c.ticket_id: c.checked_in_at for c in detail.check_ins}
    tickets = [
        {
            "number": number,
            "kind": names.get(ticket.ticket_type_id, ""),
            "holder": ticket.holder_name or "",
            "void": ticket.status is TicketStatus.VOID,
            "checked_in": lang.moment(scanned[ticket.id], zone) if ticket.id in scanned else "",
        }
        for number, ticket in enumerate(detail.tickets, start=1)
    ]
    payments = [
        {
            "provider": payment.provider,
            "reference": payment.provider_reference or "",
            "amount": lang.money(payment.amount),
            "status_name": lang.gettext(PAYMENT_NAMES[payment.status]),
            "when": lang.moment(payment.created_at, zone),
        }
        for payment in detail.payments
    ]
    refunds = [
        {
            "amount": lang.money(r.amount),
            "reason": lang.gettext(REASON_NAMES.get(r.reason, N_("Refunded"))),
            "status_name": lang.gettext(REFUND_NAMES[r.status]),
            "when": lang.moment(r.created_at, zone),
        }
        for r in detail.refunds
    ]
    confirmed = order.status is OrderStatus.CONFIRMED
    return screen.render(
        "manage/order.html",
        title=lang.gettext("Order %(reference)s") % {"reference": order.reference},
        place=place,
        tab="orders",
        order=order,
        when=lang.moment(order.created_at, zone),
        lines=[
            {
                "name": names.get(item.ticket_type_id, ""),
                "quantity": item.quantity,
                "unit": lang.money(item.unit_price),
                "subtotal": lang.money(item.subtotal),
            }
            for item in order.items
        ],
        total=lang.money(order.total),
        status_name=lang.gettext(STATUS_NAMES[order.status]),
        badge=STATUS_BADGES[order.status],
        tickets=tickets,
        payments=payments,
        refunds=refunds,
        confirmed=confirmed,
        notice=notice,
    )


ROUTES = [orders_page, order_page, refund_confirm, order_action]
