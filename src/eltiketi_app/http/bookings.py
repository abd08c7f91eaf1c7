"""Holds (seed steps 3–8) and starting their payment (step 9)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from dishka.integrations.litestar import FromDishka, inject
from litestar import Request, Response, Router, delete, get, post
from litestar.params import FromPath, HeaderParameter, JSONBody

from eltiketi_app.http.auth import BEARER, authenticated
from eltiketi_app.http.buyer import change_contact
from eltiketi_app.http.openapi import can_answer
from eltiketi_app.http.problem_catalog import PAYMENT_PROVIDER, STORAGE, WRITES
from eltiketi_app.http.rate_limits import Action, rate_limited
from eltiketi_app.http.schemas import (
    BookingOut,
    NewBookingIn,
    PaymentOut,
    booking_out,
    core_input,
    payment_out,
)
from eltiketi_app.web.i18n import preferred_language
from eltiketi_core.domain.identity import Principal
from eltiketi_core.errors import ValidationFailed
from eltiketi_core.usecases import ReserveRequest
from eltiketi_core.usecases.booking import Bookings, checked_locale
from eltiketi_core.usecases.payment import Payments

MAX_IDEMPOTENCY_KEY = 255

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        description="Retry-safe creation: the same key and body answer the first result; "
        "the same key with another body is 422 `idempotency_key_reused`; "
        "a retry while the first is still running is 409 `idempotency_in_flight`.",
    ),
]


@can_answer(
    "event_not_found",
    "sold_out",
    "event_cancelled",
    "sales_closed",
    "sales_not_open",
    "idempotency_in_flight",
    "idempotency_key_reused",
    "invalid_idempotency_key",
    "invalid_quantity",
    "no_items",
    "duplicate_ticket_type",
    "unknown_ticket_type",
    "quantity_above_limit",
    "buyer_limit_exceeded",
    "currency_mismatch",
    "contact_required",
    "invalid_contact",
    "hold_cooldown",
    "invalid_locale",
    *WRITES,
)
@post(
    "/",
    summary="Hold tickets",
    description="Holds every requested ticket or none, until `expires_at`. "
    "409 `sold_out` when the stock is not there. The tickets go to `contact`, else to the "
    "token's e-mail or phone: 422 `contact_required` with none, 422 `invalid_contact` for a "
    "malformed one. 429 `rate_limited` (per account and client address) and 429 "
    "`hold_cooldown` (several holds for this event released or expired lately), both "
    "with `Retry-After`. `locale` is the buyer's language for the e-tickets (default: the "
    "first language of `Accept-Language`, else the event's).",
    guards=[rate_limited(Action.HOLD)],
)
@inject
async def create_booking(
    request: Request[Any, Any, Any],
    data: JSONBody[NewBookingIn],
    bookings: FromDishka[Bookings],
    principal: FromDishka[Principal],
    idempotency_key: IdempotencyKey = None,
) -> Response[BookingOut]:
    if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        raise ValidationFailed(
            "invalid_idempotency_key", f"Idempotency-Key must be 1–{MAX_IDEMPOTENCY_KEY} characters"
        )
    wanted = core_input(data, ReserveRequest)
    if not wanted.locale:  # absent or empty: the browser's language
        wanted = msgspec.structs.replace(
            wanted, locale=_accepted_locale(request.headers.get("accept-language"))
        )
    reservation = await bookings.reserve(principal, wanted, idempotency_key=idempotency_key)
    headers: dict[str, Any] = {"Location": f"/v1/bookings/{reservation.booking.id}"}
    if reservation.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(booking_out(reservation.booking), status_code=201, headers=headers)


@can_answer("booking_not_found", *STORAGE)
@get("/{booking_id:uuid}", summary="Read a hold (owner)")
@inject
async def get_booking(
    booking_id: FromPath[UUID], bookings: FromDishka[Bookings], principal: FromDishka[Principal]
) -> BookingOut:
    return booking_out(await bookings.get(principal, booking_id))


@can_answer(
    "booking_not_found", "booking_confirmed", "booking_expired", "booking_not_held", *WRITES
)
@delete(
    "/{booking_id:uuid}",
    status_code=200,
    summary="Release a hold (owner)",
    description="Gives the tickets back at once. Releasing twice is harmless. "
    "429 `rate_limited` with `Retry-After`.",
    guards=[rate_limited(Action.RELEASE)],
)
@inject
async def release_booking(
    booking_id: FromPath[UUID], bookings: FromDishka[Bookings], principal: FromDishka[Principal]
) -> BookingOut:
    return booking_out(await bookings.release(principal, booking_id))


@can_answer(
    "booking_not_found",
    "booking_not_held",
    "payment_starting",
    "payment_in_progress",
    "payment_not_required",
    "payment_mismatch",
    "hold_lost_refunded",
    "duplicate_payment_refunded",
    "settlement_contended",
    "amount_not_positive",
    *PAYMENT_PROVIDER,
    *WRITES,
)
@post(
    "/{booking_id:uuid}/payment",
    status_code=200,
    summary="Start paying for a hold (owner)",
    description="Opens the booking's payment with the gateway, or answers the one already "
    "open: at most one open payment per booking. An earlier failed payment is cancelled at the "
    "gateway first; if it had succeeded after all, it is settled and answered instead "
    "(`status: succeeded`: confirm with it). 429 `rate_limited` with `Retry-After`.",
    guards=[rate_limited(Action.PAYMENT)],
)
@inject
async def start_payment(
    booking_id: FromPath[UUID], payments: FromDishka[Payments], principal: FromDishka[Principal]
) -> PaymentOut:
    return payment_out(await payments.start(principal, booking_id))


def _accepted_locale(header: str | None) -> str | None:
    """The browser's first language, if it is a tag we can store (a header never fails)."""
    tag = preferred_language(header)
    try:
        return checked_locale(tag)
    except ValidationFailed:
        return None


router = Router(
    path="/v1/bookings",
    security=BEARER,
    tags=["bookings"],
    guards=[authenticated],
    route_handlers=[create_booking, get_booking, change_contact, release_booking, start_payment],
)
