"""The ticket page an e-mail or SMS opens (``/t/{token}``): the tickets and nothing else.

No login: the signed link is the key (see :mod:`eltiketi_app.web.links`). It never
shows the buyer's contact, payment or account, and a cancelled or refunded order's
link shows that it was revoked instead of tickets.
"""

from __future__ import annotations

from typing import Any

from dishka.integrations.litestar import FromDishka, inject
from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Template

from eltiketi_app.http.availability_cache import PublicEvents
from eltiketi_app.http.problems import STATUS_BY_KIND
from eltiketi_app.ioc.types import QrRenderer
from eltiketi_app.web.auth import Visitor
from eltiketi_app.web.i18n import Lang
from eltiketi_app.web.links import TicketLinks, shared_order
from eltiketi_app.web.pages.common import page
from eltiketi_app.web.pages.orders import order_reference, ticket_cards
from eltiketi_core.errors import DomainError
from eltiketi_core.ports.clock import Clock
from eltiketi_core.usecases.orders import Orders

#: The link is a secret: never sent on as a Referer, never indexed.
LINK_HEADERS = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow"}


@get("/t/{token:str}", name="web:ticket-link", summary="Tickets from an e-mail or SMS link")
@inject
async def ticket_link(
    *,
    token: FromPath[str],
    request: Request[Any, Any, Any],
    orders: FromDishka[Orders],
    clock: FromDishka[Clock],
    events: FromDishka[PublicEvents],
    links: FromDishka[TicketLinks],
    qr: FromDishka[QrRenderer],
    lang: FromDishka[Lang],
    visitor: FromDishka[Visitor],
) -> Template:
    try:
        view = await shared_order(token, links, clock, orders)
    except DomainError as problem:
        return page(
            "error.html",
            request,
            lang,
            visitor,
            status=STATUS_BY_KIND.get(problem.kind, 404),
            title=problem.code,
            code=problem.code,
            headers=LINK_HEADERS,
        )
    event_view = await events.find(view.order.event_id)
    return page(
        "ticket_link.html",
        request,
        lang,
        visitor,
        title=lang.gettext("Your tickets"),
        headers=LINK_HEADERS,
        event=event_view.event if event_view else None,
        reference=order_reference(view.order),
        tickets=ticket_cards(view, event_view, lang, qr),
    )
