"""The hold (``/bookings/{id}``): what is held, the countdown, whom the tickets are for and
where they go, Pay and Release; the card form of Stripe's ``payment_intent`` mode
(``/bookings/{id}/pay``); and the return from paying, which confirms the order (seed
step 11)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from eltiketi_app.http.availability_cache import PublicEvents
from eltiketi_app.settings import Settings
from eltiketi_app.web.i18n import Lang
from eltiketi_app.web.pages.common import Screen
from eltiketi_app.web.payments import CardPayments
from eltiketi_app.web.security import card_page_policy
from eltiketi_core.domain.booking import Booking, BookingStatus, Contact
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.payment import PaymentStatus
from eltiketi_core.errors import (
    Conflict,
    DomainError,
    HoldLostRefunded,
    PaymentIncomplete,
    ValidationFailed,
)
from eltiketi_core.ports.clock import Clock
from eltiketi_core.usecases import HoldProgress
from eltiketi_core.usecases.booking import Bookings
from eltiketi_core.usecases.payment import Payments
from eltiketi_core.usecases.settlement import Settlement

#: Seconds between looks while a payment is still being processed.
PROCESSING_REFRESH_SECONDS = 2
FAKE_PROVIDER = "fake"


@dataclass(frozen=True, slots=True)
class HoldPage(Screen):
    """The hold's page (``/bookings/{id}``) of one request, with what it is drawn from.

    The container hands it to the routes that show it: the page itself, and the actions
    (save the details, pay) that show it again, saying why, when they are refused.
    """

    bookings: Bookings
    clock: Clock
    events: PublicEvents

    async def save_details(self, booking: Booking, principal: Principal) -> Template | None:
        """Store the form's names and contact when they changed (together, or neither); the
        page again with the problem when refused, else None."""
        form = await self.request.form()
        names = tuple(str(name) for name in form.getall("holder", []))
        contact = None
        if "email" in form or "phone" in form:
            contact = Contact(
                email=str(form.get("email") or "").strip() or None,
                phone=str(form.get("phone") or "").strip() or None,
            )
        changes: dict[str, Any] = {}
        if names and names != booking.holders:
            changes["holders"] = names
        if contact is not None and contact != booking.contact:
            changes["contact"] = contact
        if not changes:
            return None
        try:
            await self.bookings.change(principal, booking.id, **changes)
        except ValidationFailed as problem:
            if "index" in problem.extra:
                field = f"holder-{int(problem.extra['index']) + 1}"
            elif problem.code == "holders_mismatch":
                field = "holder-1"
            elif problem.extra.get("field") == "phone":
                field = "contact-phone"
            else:
                field = _DETAIL_FIELDS.get(problem.code, "contact-email")
            _, sentence = _problem(problem.code, self.lang)
            return await self.show(
                booking,
                errors=[{"field": field, "text": sentence}],
                contact=contact,
                holders=names or None,
                status=422,
            )
        except Conflict as problem:
            return await self.show(booking, notice=problem.code, status=409)
        return None

    async def show(
        self,
        booking: Booking,
        *,
        state: str | None = None,
        notice: str | None = None,
        errors: list[dict[str, str]] | None = None,
        contact: Contact | None = None,
        holders: tuple[str, ...] | None = None,
        card: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        lang = self.lang
        now = self.clock.now()
        if state is None:
            if booking.status is BookingStatus.HELD and not booking.is_expired_at(now):
                state = "held"
            elif booking.status is BookingStatus.CANCELLED:
                state = "released"
            elif booking.status is BookingStatus.CONFIRMED:
                state = "processing"
            else:
                state = "expired"
        view = await self.events.find(booking.event_id)
        names_by_type = {t.id: t.name for t in view.ticket_types} if view else {}
        lines = [
            {
                "name": names_by_type.get(item.ticket_type_id, lang.gettext("Ticket")),
                "quantity": item.quantity,
                "unit_price": lang.money(item.unit_price),
                "subtotal": lang.money(item.subtotal),
            }
            for item in booking.items
        ]
        again = urlencode({f"qty-{item.ticket_type_id}": item.quantity for item in booking.items})
        headers = dict(headers or {})
        if state == "processing":
            headers["Refresh"] = str(PROCESSING_REFRESH_SECONDS)
        names = holders if holders is not None else booking.holders
        buyer_name = self.visitor.name or ""
        holder_rows: list[dict[str, Any]] = []
        for item in booking.items:
            for _ in range(item.quantity):
                number = len(holder_rows) + 1
                given = names[number - 1] if number <= len(names) else None
                holder_rows.append(
                    {
                        "number": number,
                        "type_name": names_by_type.get(item.ticket_type_id, lang.gettext("Ticket")),
                        # the buyer's own name, until they say otherwise (one blank is kept blank)
                        "value": given if given is not None else buyer_name,
                    }
                )
        return self.render(
            "booking.html",
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
            holder_rows=holder_rows,
            card=card,
        )


@get("/bookings/{booking_id:uuid}", name="web:booking", summary="A hold, or the return from paying")
@inject
async def booking_page(
    *, booking_id: FromPath[UUID], settlement: FromDishka[Settlement], hold: FromDishka[HoldPage]
) -> Response[Any] | Template:
    principal = hold.principal()
    progress = await hold.bookings.progress(principal, booking_id)
    if progress.order_id is not None:
        return Redirect(f"/orders/{progress.order_id}", status_code=303)
    query = hold.request.query_params
    outcome = query.get("payment")
    notice = {"details": "details_saved"}.get(query.get("saved") or "")
    state = None
    if outcome == "success" and progress.payment is not None:
        try:
            order_id = await _confirm(settlement, principal, progress)
        except HoldLostRefunded:
            state = "refunded"
        except PaymentIncomplete:
            progress = await hold.bookings.progress(principal, booking_id)
            declined = progress.payment and progress.payment.status is PaymentStatus.FAILED
            notice = "payment_declined" if declined else None
            state = None if declined else "processing"
        else:
            return Redirect(f"/orders/{order_id}", status_code=303)
    elif outcome == "cancelled" and progress.payment is not None:
        failed = progress.payment.status is PaymentStatus.FAILED
        notice = "payment_declined" if failed else "payment_cancelled"
    return await hold.show(progress.booking, state=state, notice=notice)


@post("/bookings/{booking_id:uuid}/contact", name="web:contact", summary="Save the details")
@inject
async def change_contact(
    *, booking_id: FromPath[UUID], hold: FromDishka[HoldPage]
) -> Response[Any] | Template:
    """Save whom the tickets are for and where they go, without paying yet."""
    principal = hold.principal(f"/bookings/{booking_id}")
    booking = await hold.bookings.get(principal, booking_id)
    refused = await hold.save_details(booking, principal)
    if refused is not None:
        return refused
    return Redirect(f"/bookings/{booking_id}?saved=details", status_code=303)


@post("/bookings/{booking_id:uuid}/pay", name="web:pay", summary="Save the details and pay")
@inject
async def pay(
    *,
    booking_id: FromPath[UUID],
    settlement: FromDishka[Settlement],
    payments: FromDishka[Payments],
    cards: FromDishka[CardPayments],
    hold: FromDishka[HoldPage],
) -> Response[Any] | Template:
    principal = hold.principal(f"/bookings/{booking_id}")
    booking = await hold.bookings.get(principal, booking_id)
    refused = await hold.save_details(booking, principal)
    if refused is not None:
        return refused
    if booking.total.amount == 0:  # free tickets: no payment step (POST /v1/orders alone)
        try:
            confirmation = await settlement.confirm(principal, booking.id, None)
        except DomainError as problem:
            return await hold.show(booking, notice=problem.code, status=409)
        return Redirect(f"/orders/{confirmation.order.id}", status_code=303)
    try:
        payment = await payments.start(principal, booking_id)
    except DomainError as problem:
        return await hold.show(booking, notice=problem.code, status=409)
    if payment.checkout_url is not None:
        target = payment.checkout_url
        if payment.provider == FAKE_PROVIDER:
            target += "?" + urlencode({"back": "shop"})  # the fake page returns to this hold
        return Redirect(target, status_code=303)
    if payment.client_secret is not None and cards.enabled:
        return Redirect(f"/bookings/{booking_id}/pay", status_code=303)
    return await hold.show(booking, notice="payment_method_unavailable")


@get("/bookings/{booking_id:uuid}/pay", name="web:card", summary="Pay by card on this site")
@inject
async def card_page(
    *,
    booking_id: FromPath[UUID],
    cards: FromDishka[CardPayments],
    settings: FromDishka[Settings],
    hold: FromDishka[HoldPage],
) -> Response[Any] | Template:
    """The card form (Stripe's Payment Element) for the hold's open payment; the hold page
    when there is none to pay (paid, declined, expired…), which says what happened."""
    progress = await hold.bookings.progress(hold.principal(), booking_id)
    if progress.order_id is not None:
        return Redirect(f"/orders/{progress.order_id}", status_code=303)
    payment = progress.payment
    booking = progress.booking
    if (
        not cards.enabled
        or payment is None
        or payment.status is not PaymentStatus.OPEN
        or payment.client_secret is None
        or booking.status is not BookingStatus.HELD
        or booking.is_expired_at(hold.clock.now())
    ):
        return Redirect(f"/bookings/{booking_id}", status_code=303)
    card = {
        "key": cards.publishable_key,
        "client_secret": payment.client_secret,
        "return_url": f"/bookings/{booking_id}?payment=success",
        "js_url": cards.js_url,
    }
    return await hold.show(
        booking,
        state="card",
        card=card,
        headers=card_page_policy(settings, cards),
    )


@post("/bookings/{booking_id:uuid}/release", name="web:release", summary="Give the tickets back")
@inject
async def release(
    booking_id: FromPath[UUID], bookings: FromDishka[Bookings], screen: FromDishka[Screen]
) -> Response[Any]:
    principal = screen.principal(f"/bookings/{booking_id}")
    with contextlib.suppress(Conflict):  # expired or confirmed meanwhile: the page says which
        await bookings.release(principal, booking_id)
    return Redirect(f"/bookings/{booking_id}", status_code=303)


#: Which field of the page a refused detail belongs to (the code's ``field`` or ``index``).
_DETAIL_FIELDS = {"contact_required": "contact-email", "invalid_contact": "contact-email"}


async def _confirm(settlement: Settlement, principal: Principal, progress: HoldProgress) -> UUID:
    """Seed step 11, as ``POST /v1/orders`` does: the gateway is asked server-side first."""
    assert progress.payment is not None
    confirmation = await settlement.confirm(principal, progress.booking.id, progress.payment.id)
    return confirmation.order.id


def _problem(code: str, lang: Lang) -> tuple[str, str]:
    from eltiketi_app.web.messages import problem_text

    return problem_text(code, lang)
