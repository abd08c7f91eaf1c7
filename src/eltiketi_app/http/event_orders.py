"""Organizers and the orders of their events: search, detail, refund, resend.

An order is reached through its event (``/v1/events/{event_id}/orders/{order_id}``):
the event must be one the caller manages (else ``404 event_not_found``) and the
order one of that event (else ``404 order_not_found``).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import Router, get, post
from litestar.params import FromPath, FromQuery, Parameter

from eltiketi_app.http.auth import BEARER, authenticated
from eltiketi_app.http.openapi import can_answer
from eltiketi_app.http.organizer_schemas import (
    OrderDetailOut,
    OrganizerOrderListOut,
    order_detail_out,
    organizer_order_out,
)
from eltiketi_app.http.paging import Limit, Offset
from eltiketi_app.http.problem_catalog import STORAGE, WRITES
from eltiketi_app.http.schemas import ResendOut
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.order import OrderStatus
from eltiketi_core.usecases.organizer_orders import OrganizerOrders

SearchText = Annotated[
    str | None,
    Parameter(
        max_length=320,
        description="an order's reference (as printed, any case), its id or the id's start "
        "(8+ hex digits, dashes allowed), or part of the buyer's e-mail, phone or subject or "
        "of a ticket's holder name (case-insensitive): orders matching any of these",
    ),
]


@can_answer("missing_role", "event_not_found", "malformed_request", *STORAGE)
@get(
    "/{event_id:uuid}/orders",
    summary="Search the event's orders (owning organizer)",
    description="Newest first. `q` empty: every order; `status` filters (`confirmed`, `refunded`).",
)
@inject
async def search_orders(
    event_id: FromPath[UUID],
    organizer_orders: FromDishka[OrganizerOrders],
    principal: FromDishka[Principal],
    *,
    q: SearchText = None,
    status: FromQuery[OrderStatus | None] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> OrganizerOrderListOut:
    orders = await organizer_orders.search(
        principal, event_id, q, status=status, limit=limit, offset=offset
    )
    return OrganizerOrderListOut(
        items=[organizer_order_out(o) for o in orders], limit=limit, offset=offset
    )


@can_answer("missing_role", "event_not_found", "order_not_found", *STORAGE)
@get(
    "/{event_id:uuid}/orders/{order_id:uuid}",
    summary="One order with its tickets, payments and refunds (owning organizer)",
)
@inject
async def order_detail(
    event_id: FromPath[UUID],
    order_id: FromPath[UUID],
    organizer_orders: FromDishka[OrganizerOrders],
    principal: FromDishka[Principal],
) -> OrderDetailOut:
    return order_detail_out(await organizer_orders.detail(principal, event_id, order_id))


@can_answer(
    "missing_role", "event_not_found", "order_not_found", "order_changed", "ticket_used", *WRITES
)
@post(
    "/{event_id:uuid}/orders/{order_id:uuid}/refund",
    status_code=200,
    summary="Cancel and refund an order (owning organizer)",
    description="The buyer's cancellation without its cut-off: the tickets become void at "
    "once, the payment is refunded in full (reason `organizer_cancelled`; the buyer is "
    "told), the stock returns moments later. Cancelling and refunding are one action. "
    "An order already refunded (by anyone) answers as it is. `409 order_changed` if it "
    "changed under the request (retry).",
)
@inject
async def refund_order(
    event_id: FromPath[UUID],
    order_id: FromPath[UUID],
    organizer_orders: FromDishka[OrganizerOrders],
    principal: FromDishka[Principal],
) -> OrderDetailOut:
    return order_detail_out(await organizer_orders.refund(principal, event_id, order_id))


@can_answer(
    "missing_role",
    "event_not_found",
    "order_not_found",
    "order_not_confirmed",
    "no_contact",
    "resend_rate_limited",
    *WRITES,
)
@post(
    "/{event_id:uuid}/orders/{order_id:uuid}/resend",
    status_code=200,
    summary="Send the order's e-tickets to its buyer again (owning organizer)",
    description="Same limit as the buyer's resend: `429 resend_rate_limited` with "
    "`Retry-After`; `409 order_not_confirmed` for a refunded order; `422 no_contact`.",
)
@inject
async def resend_order(
    event_id: FromPath[UUID],
    order_id: FromPath[UUID],
    organizer_orders: FromDishka[OrganizerOrders],
    principal: FromDishka[Principal],
) -> ResendOut:
    sent = await organizer_orders.resend(principal, event_id, order_id)
    return ResendOut(order_id=order_id, channels_sent=sent)


router = Router(
    path="/v1/events",
    tags=["organizers"],
    guards=[authenticated],
    security=BEARER,
    route_handlers=[search_orders, order_detail, refund_order, resend_order],
)
