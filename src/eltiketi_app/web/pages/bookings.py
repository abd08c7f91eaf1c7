"""The hold (``/bookings/{id}``): what is held, the countdown, where the tickets go, Pay and
Release; and the return from the payment page, which confirms the order (seed step 11)."""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import Request, Response, get, post
from litestar.response import Redirect, Template

from eltiketi_app.http.availability_cache import EventViewCache
from eltiketi_app.web.auth import Visitor, require
from eltiketi_app.web.i18n import Lang
from eltiketi_app.web.pages.common import event_or_none, here, page
from eltiketi_core.domain.booking import Booking, BookingStatus, Contact
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.payment import PaymentStatus
from eltiketi_core.errors import (
    Conflict,
    DomainError,
    HoldLostRefunded,
    NotFound,
    PaymentIncomplete,
    ValidationFailed,
)
from eltiketi_core.usecases import HoldProgress, Ticketing

#: Seconds between looks while a payment is still being processed.
PROCESSING_REFRESH_SECONDS = 2
FAKE_PROVIDER = "fake"


@get("/bookings/{booking_id:uuid}", name="web:booking", summary="A hold, or the return from paying")
@inject
async def booking_page(
    *,
    booking_id: UUID,
    request: Request[Any, Any, Any],
    ticketing: FromDishka[Ticketing],
    views: FromDishka[EventViewCache],
    lang: FromDishka[Lang],
    visitor: FromDishka[Visitor],
) -> Response[Any] | Template:
    principal = require(visitor, here(request))
    progress = await ticketing.bookings.progress(principal, booking_id)
    if progress.order_id is not None:
        return Redirect(f"/orders/{progress.order_id}", status_code=303)
    outcome = request.query_params.get("payment")
    notice = {"contact": "contact_saved"}.get(request.query_params.get("saved") or "")
    state = None
    if outcome == "success" and progress.payment is not None:
        try:
            order_id = await _confirm(ticketing, principal, progress)
        except HoldLostRefunded:
            state = "refunded"
        except PaymentIncomplete:
            progress = await ticketing.bookings.progress(principal, booking_id)
            declined = progress.payment and progress.payment.status is PaymentStatus.FAILED
            notice = "payment_declined" if declined else None
            state = None if declined else "processing"
        else:
            return Redirect(f"/orders/{order_id}", status_code=303)
    elif outcome == "cancelled" and progress.payment is not None:
        failed = progress.payment.status is PaymentStatus.FAILED
        notice = "payment_declined" if failed else "payment_cancelled"
    return await _render(
        request, progress.booking, ticketing, views, lang, visitor, state=state, notice=notice
    )


@post("/bookings/{booking_id:uuid}/contact", name="web:contact", summary="Change where tickets go")
@inject
async def change_contact(
    *,
    booking_id: UUID,
    request: Request[Any, Any, Any],
    ticketing: FromDishka[Ticketing],
    views: FromDishka[EventViewCache],
    lang: FromDishka[Lang],
    visitor: FromDishka[Visitor],
) -> Response[Any] | Template:
    principal = require(visitor, f"/bookings/{booking_id}")
    form = await request.form()
    contact = Contact(
        email=str(form.get("email") or "").strip() or None,
        phone=str(form.get("phone") or "").strip() or None,
    )
    try:
        await ticketing.bookings.change_contact(principal, booking_id, contact)
    except ValidationFailed as problem:
        booking = await ticketing.bookings.get(principal, booking_id)
        field = "contact-phone" if problem.extra.get("field") == "phone" else "contact-email"
        _, sentence = _problem(problem.code, lang)
        return await _render(
            request,
            booking,
            ticketing,
            views,
            lang,
            visitor,
            errors=[{"field": field, "text": sentence}],
            contact=contact,
            status=422,
        )
    except Conflict as problem:
        booking = await ticketing.bookings.get(principal, booking_id)
        return await _render(
            request, booking, ticketing, views, lang, visitor, notice=problem.code, status=409
        )
    return Redirect(f"/bookings/{booking_id}?saved=contact", status_code=303)


@post("/bookings/{booking_id:uuid}/pay", name="web:pay", summary="Go to the payment page")
@inject
async def pay(
    *,
    booking_id: UUID,
    request: Request[Any, Any, Any],
    ticketing: FromDishka[Ticketing],
    views: FromDishka[EventViewCache],
    lang: FromDishka[Lang],
    visitor: FromDishka[Visitor],
) -> Response[Any] | Template:
    principal = require(visitor, f"/bookings/{booking_id}")
    booking = await ticketing.bookings.get(principal, booking_id)
    if booking.total.amount == 0:
        order_id = await _confirm_free(ticketing, principal, booking)
        if order_id is not None:
            return Redirect(f"/orders/{order_id}", status_code=303)
    try:
        payment = await ticketing.payments.start(principal, booking_id)
    except DomainError as problem:
        return await _render(
            request, booking, ticketing, views, lang, visitor, notice=problem.code, status=409
        )
    if payment.checkout_url is None:
        # payment_intent mode pays on this page with Stripe.js (round 2)
        return await _render(
            request, booking, ticketing, views, lang, visitor, notice="payment_method_unavailable"
        )
    target = payment.checkout_url
    if payment.provider == FAKE_PROVIDER:
        target += "?" + urlencode({"back": "shop"})  # the fake page returns to this hold
    return Redirect(target, status_code=303)


@post("/bookings/{booking_id:uuid}/release", name="web:release", summary="Give the tickets back")
@inject
async def release(
    booking_id: UUID,
    ticketing: FromDishka[Ticketing],
    visitor: FromDishka[Visitor],
) -> Response[Any]:
    principal = require(visitor, f"/bookings/{booking_id}")
    with contextlib.suppress(Conflict):  # expired or confirmed meanwhile: the page says which
        await ticketing.bookings.release(principal, booking_id)
    return Redirect(f"/bookings/{booking_id}", status_code=303)


async def _confirm(ticketing: Ticketing, principal: Principal, progress: HoldProgress) -> UUID:
    """Seed step 11, as ``POST /v1/orders`` does: the gateway is asked server-side first."""
    assert progress.payment is not None
    confirmation = await ticketing.settlement.confirm(
        principal, progress.booking.id, progress.payment.id
    )
    return confirmation.order.id


async def _confirm_free(
    ticketing: Ticketing, principal: Principal, booking: Booking
) -> UUID | None:
    """A booking of free tickets confirms without a payment where the core allows it
    (``POST /v1/orders`` without ``payment_id``); otherwise None: pay 0 on the gateway."""
    try:
        confirmation = await ticketing.settlement.confirm(principal, booking.id, None)  # type: ignore[arg-type]
    except (NotFound, PaymentIncomplete):
        return None
    return confirmation.order.id


def _problem(code: str, lang: Lang) -> tuple[str, str]:
    from eltiketi_app.web.messages import problem_text

    return problem_text(code, lang)


async def _render(  # noqa: PLR0917 - the page's parts, then its options
    request: Request[Any, Any, Any],
    booking: Booking,
    ticketing: Ticketing,
    views: EventViewCache,
    lang: Lang,
    visitor: Visitor,
    *,
    state: str | None = None,
    notice: str | None = None,
    errors: list[dict[str, str]] | None = None,
    contact: Contact | None = None,
    status: int = 200,
) -> Template:
    now = ticketing.clock.now()
    if state is None:
        if booking.status is BookingStatus.HELD and not booking.is_expired_at(now):
            state = "held"
        elif booking.status is BookingStatus.CANCELLED:
            state = "released"
        elif booking.status is BookingStatus.CONFIRMED:
            state = "processing"
        else:
            state = "expired"
    view = await event_or_none(booking.event_id, ticketing, views)
    names = {t.id: t.name for t in view.ticket_types} if view else {}
    lines = [
        {
            "name": names.get(item.ticket_type_id, lang.gettext("Ticket")),
            "quantity": item.quantity,
            "unit_price": lang.money(item.unit_price),
            "subtotal": lang.money(item.subtotal),
        }
        for item in booking.items
    ]
    again = urlencode({f"qty-{item.ticket_type_id}": item.quantity for item in booking.items})
    headers = {}
    if state == "processing":
        headers["Refresh"] = str(PROCESSING_REFRESH_SECONDS)
    return page(
        "booking.html",
        request,
        lang,
        visitor,
        status=status,
        title=lang.gettext("Your reservation"),
        headers=headers,
        booking=booking,
        event=view.event if view else None,
        lines=lines,
        total=lang.money(booking.total),
        free=booking.total.amount == 0,
        state=state,
        notice=notice,
        errors=errors or [],
        contact=contact or booking.contact,
        expires_ms=int(booking.expires_at.timestamp() * 1000),
        server_ms=int(now.timestamp() * 1000),
        minutes_left=max(int((booking.expires_at - now).total_seconds() // 60), 0),
        try_again=f"/events/{booking.event_id}?{again}",
    )
