"""The ticket page an e-mail or SMS opens (``/t/{token}``): the tickets and nothing else.

No login: the signed link is the key (see :mod:`eltiketi_app.web.links`). It never
shows the buyer's contact, payment or account, and a cancelled or refunded order's
link shows that it was revoked instead of tickets.
"""

from __future__ import annotations

from dishka.integrations.litestar import FromDishka, inject
from litestar import get
from litestar.params import FromPath
from litestar.response import Template

from eltiketi_app.http.problems import STATUS_BY_KIND
from eltiketi_app.web.links import shared_order
from eltiketi_app.web.pages.orders import OrderPage, order_reference, ticket_cards
from eltiketi_core.errors import DomainError
from eltiketi_core.ports.clock import Clock

#: The link is a secret: never sent on as a Referer, never indexed.
LINK_HEADERS = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow"}


@get("/t/{token:str}", name="web:ticket-link", summary="Tickets from an e-mail or SMS link")
@inject
async def ticket_link(
    *, token: FromPath[str], clock: FromDishka[Clock], shown: FromDishka[OrderPage]
) -> Template:
    try:
        view = await shared_order(token, shown.links, clock, shown.orders)
    except DomainError as problem:
        return shown.render(
            "error.html",
            status=STATUS_BY_KIND.get(problem.kind, 404),
            title=problem.code,
            code=problem.code,
            headers=LINK_HEADERS,
        )
    event_view = await shown.events.find(view.order.event_id)
    return shown.render(
        "ticket_link.html",
        title=shown.lang.gettext("Your tickets"),
        headers=LINK_HEADERS,
        event=event_view.event if event_view else None,
        reference=order_reference(view.order),
        tickets=ticket_cards(view, event_view, shown.lang, shown.qr),
    )
