"""What the buyer's web pages need beyond the journey's own routes, for every client.

``change_contact`` is mounted by :mod:`eltiketi_app.http.bookings`.
Every action a page offers exists in the REST API too (the pages are not a second
source of rules): changing where the tickets go, the per-buyer allowance a
quantity picker is bounded by, how far a hold's purchase went (the return from a
payment page), and the terms of a cancellation before confirming it.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec
from dishka.integrations.litestar import FromDishka, inject
from litestar import Router, get, patch
from litestar.params import FromPath, JSONBody

from eltiketi_app.http.auth import BEARER, authenticated
from eltiketi_app.http.openapi import can_answer
from eltiketi_app.http.problem_catalog import STORAGE, WRITES
from eltiketi_app.http.schemas import BookingOut, ContactIn, Strict, booking_out, core_output
from eltiketi_core.domain.booking import Contact
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.money import Money
from eltiketi_core.usecases.booking import Bookings
from eltiketi_core.usecases.orders import Orders


class BookingChangeIn(Strict):
    contact: ContactIn | None = None
    holders: list[str] | None = None


class AllowanceOut(msgspec.Struct, kw_only=True):
    event_id: UUID
    limit: int
    used: int
    remaining: int


class ProgressPaymentOut(msgspec.Struct, kw_only=True):
    payment_id: UUID
    status: str
    provider: str
    checkout_url: str | None


class ProgressOut(msgspec.Struct, kw_only=True):
    booking: BookingOut
    order_id: UUID | None
    payment: ProgressPaymentOut | None


class CancellationTermsOut(msgspec.Struct, kw_only=True):
    order_id: UUID
    allowed: bool
    refund: Money
    deadline: datetime
    code: str | None


@can_answer(
    "booking_not_found",
    "booking_not_held",
    "booking_expired",
    "contact_required",
    "invalid_contact",
    "holders_mismatch",
    "invalid_holder",
    "nothing_to_change",
    *WRITES,
)
@patch(
    "/{booking_id:uuid}",
    summary="Change where the tickets of a hold go and whom they are for (owner)",
    description="`contact`: where the e-tickets go; `holders`: one name per ticket, in item "
    "order (blank: unnamed), printed on the tickets and shown at check-in. Only while the "
    "tickets are held: 409 `booking_not_held` / `booking_expired` after. 422 "
    "`contact_required` (neither e-mail nor phone), `invalid_contact` (`field`), "
    "`holders_mismatch` (not one name per ticket), `invalid_holder` (`index`), "
    "`nothing_to_change` (neither given). Both change together or not at all.",
)
@inject
async def change_contact(
    booking_id: FromPath[UUID],
    data: JSONBody[BookingChangeIn],
    bookings: FromDishka[Bookings],
    principal: FromDishka[Principal],
) -> BookingOut:
    contact = None
    if data.contact is not None:
        contact = Contact(email=data.contact.email, phone=data.contact.phone)
    holders = tuple(data.holders) if data.holders is not None else None
    booking = await bookings.change(principal, booking_id, contact=contact, holders=holders)
    return booking_out(booking)


@can_answer("booking_not_found", *STORAGE)
@get(
    "/v1/bookings/{booking_id:uuid}/progress",
    summary="How far a hold's purchase went (owner)",
    description="The hold, its order once confirmed, and its newest payment: what a client "
    "returning from a payment page reads before confirming with `POST /v1/orders`.",
)
@inject
async def hold_progress(
    booking_id: FromPath[UUID], bookings: FromDishka[Bookings], principal: FromDishka[Principal]
) -> ProgressOut:
    progress = await bookings.progress(principal, booking_id)
    payment = progress.payment
    return ProgressOut(
        booking=booking_out(progress.booking),
        order_id=progress.order_id,
        payment=None
        if payment is None
        else core_output(ProgressPaymentOut, payment, payment_id=payment.id),
    )


@can_answer(*STORAGE)
@get(
    "/v1/events/{event_id:uuid}/allowance",
    summary="How many more tickets of this event the caller may hold",
    description="`ELTIKETI_MAX_TICKETS_PER_BUYER` minus the tickets the caller holds or bought "
    "for the event. A reservation checks the limit again (422 `buyer_limit_exceeded`).",
)
@inject
async def allowance(
    event_id: FromPath[UUID], bookings: FromDishka[Bookings], principal: FromDishka[Principal]
) -> AllowanceOut:
    found = await bookings.allowance(principal, event_id)
    return AllowanceOut(
        event_id=event_id, limit=found.limit, used=found.used, remaining=found.remaining
    )


@can_answer("order_not_found", "event_not_found", *STORAGE)
@get(
    "/v1/orders/{order_id:uuid}/cancellation",
    summary="What cancelling the order would do now (owner)",
    description="`allowed`, the `refund` amount and the `deadline` "
    "(`ELTIKETI_CANCEL_CUTOFF_HOURS` before the event); when not allowed, the `code` "
    "`POST /v1/orders/{id}/cancel` would answer.",
)
@inject
async def cancellation_terms(
    order_id: FromPath[UUID], orders: FromDishka[Orders], principal: FromDishka[Principal]
) -> CancellationTermsOut:
    terms = await orders.cancellation_terms(principal, order_id)
    return CancellationTermsOut(
        order_id=order_id,
        allowed=terms.allowed,
        refund=terms.refund,
        deadline=terms.deadline,
        code=terms.code,
    )


router = Router(
    path="/",
    security=BEARER,
    tags=["buyer"],
    guards=[authenticated],
    # change_contact shares its path with GET/DELETE /v1/bookings/{id}: it is
    # registered on the bookings router (one path, one router).
    route_handlers=[hold_progress, allowance, cancellation_terms],
)
