"""Orders (seed steps 11–13): confirmation after payment, reading, cancelling, resending."""

from __future__ import annotations

from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import Response, Router, get, post
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody

from eltiketi_app.http.auth import BEARER, authenticated
from eltiketi_app.http.openapi import can_answer
from eltiketi_app.http.paging import Limit, Offset
from eltiketi_app.http.problem_catalog import PAYMENT_PROVIDER, STORAGE, WRITES
from eltiketi_app.http.rate_limits import Action, rate_limited
from eltiketi_app.http.schemas import (
    ConfirmOrderIn,
    OrderListOut,
    OrderOut,
    ResendOut,
    order_out,
    order_view_out,
)
from eltiketi_core.domain.identity import Principal
from eltiketi_core.usecases.notifications import Notifications
from eltiketi_core.usecases.orders import Orders
from eltiketi_core.usecases.settlement import Settlement


@can_answer(
    "booking_not_found",
    "booking_not_held",
    "event_cancelled",
    "payment_not_found",
    "payment_incomplete",
    "payment_required",
    "payment_mismatch",
    "hold_lost_refunded",
    "duplicate_payment_refunded",
    "payment_refunded",
    "settlement_contended",
    *PAYMENT_PROVIDER,
    *WRITES,
)
@post(
    "/",
    summary="Confirm a paid (or free) booking",
    responses={
        200: ResponseSpec(
            data_container=OrderOut,
            description="The booking was already confirmed (by an earlier call or the "
            "gateway's webhook): the existing order.",
        )
    },
    response_description="A new order, confirmed now.",
    description="Asks the gateway server-side whether the payment succeeded, then creates the "
    "order and its signed tickets: 201 for a new order, 200 if it was already confirmed "
    "(by this call earlier or by the gateway's webhook). A free booking (total zero) is "
    "confirmed without `payment_id` and no gateway is called. 402 `payment_incomplete`, "
    "409 `payment_mismatch`, 409 `hold_lost_refunded`, 409 `duplicate_payment_refunded` "
    "(the booking was paid by another payment: this one is refunded; `order_id`), "
    "409 `booking_not_held`, 409 `event_cancelled`, 422 `payment_required` (no `payment_id` "
    "for a booking that costs money).",
)
@inject
async def confirm_order(
    data: JSONBody[ConfirmOrderIn],
    settlement: FromDishka[Settlement],
    orders: FromDishka[Orders],
    principal: FromDishka[Principal],
) -> Response[OrderOut]:
    confirmation = await settlement.confirm(principal, data.booking_id, data.payment_id)
    order, tickets = confirmation.order, confirmation.tickets
    if tickets is None:  # not at hand: read them with the order
        view = await orders.get(principal, confirmation.order.id)
        order, tickets = view.order, view.tickets
    return Response(
        order_out(order, tickets),
        status_code=201 if confirmation.created else 200,
        headers={"Location": f"/v1/orders/{order.id}"},
    )


@can_answer("malformed_request", *STORAGE)
@get("/", summary="The caller's orders, newest first")
@inject
async def list_orders(
    orders: FromDishka[Orders],
    principal: FromDishka[Principal],
    limit: Limit = 50,
    offset: Offset = 0,
) -> OrderListOut:
    views = await orders.list(principal, limit=limit, offset=offset)
    return OrderListOut(items=[order_view_out(v) for v in views], limit=limit, offset=offset)


@can_answer("order_not_found", *STORAGE)
@get("/{order_id:uuid}", summary="One order with its tickets (owner)")
@inject
async def get_order(
    order_id: FromPath[UUID], orders: FromDishka[Orders], principal: FromDishka[Principal]
) -> OrderOut:
    return order_view_out(await orders.get(principal, order_id))


@can_answer(
    "order_not_found",
    "event_not_found",
    "cancellation_closed",
    "ticket_used",
    "order_changed",
    *WRITES,
)
@post(
    "/{order_id:uuid}/cancel",
    status_code=200,
    summary="Cancel an order (owner)",
    description="Allowed until `ELTIKETI_CANCEL_CUTOFF_HOURS` before the event: the tickets "
    "become void and the payment is refunded. 409 `ticket_used` when a ticket of the order "
    "was checked in.",
)
@inject
async def cancel_order(
    order_id: FromPath[UUID], orders: FromDishka[Orders], principal: FromDishka[Principal]
) -> OrderOut:
    return order_view_out(await orders.cancel(principal, order_id))


@can_answer("order_not_found", "order_not_confirmed", "no_contact", "resend_rate_limited", *WRITES)
@post(
    "/{order_id:uuid}/resend",
    status_code=200,
    summary="Send the e-tickets again (owner)",
    description="A new message on every channel the order's contact has (a new e-mail "
    "`Message-ID`). At most once per `ELTIKETI_RESEND_INTERVAL_SECONDS`, and not while the "
    "tickets are being sent: concurrent requests claim the resend slot with one conditional "
    "write, exactly one sends, the others get 429 `resend_rate_limited`. 429 `rate_limited` "
    "per account and client address. Both with `Retry-After`.",
    guards=[rate_limited(Action.RESEND)],
)
@inject
async def resend_tickets(
    order_id: FromPath[UUID],
    notifications: FromDishka[Notifications],
    principal: FromDishka[Principal],
) -> ResendOut:
    sent = await notifications.resend_tickets(principal, order_id)
    return ResendOut(order_id=order_id, channels_sent=sent)


router = Router(
    path="/v1/orders",
    security=BEARER,
    tags=["orders"],
    guards=[authenticated],
    route_handlers=[confirm_order, list_orders, get_order, cancel_order, resend_tickets],
)
