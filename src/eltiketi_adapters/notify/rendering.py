"""What every message says, shared by the email and SMS notifiers: views and Jinja2 templates.

Wording lives in template files (``templates/*.j2``) so it can be changed without touching
code; a ``templates_dir`` given to a notifier overrides any of them by file name. Templates
whose name ends in ``.html.j2`` are autoescaped; the others (subject, text, SMS) are not.

Languages: an e-ticket is written in the buyer's language (the one they used in the shop,
kept on the booking), else the event's, else English. A language has its own templates
next to the English ones, named with its code before the kind: ``tickets.nl.html.j2`` for
``tickets.html.j2``; a language without them falls back to the next choice. Dates and
money follow the buyer's locale, else the event's
(:mod:`~eltiketi_adapters.notify.formatting`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from uuid import UUID

import jinja2

from eltiketi_adapters.notify.formatting import (
    format_local_date,
    format_local_datetime,
    format_money,
)
from eltiketi_core.domain.order import TicketStatus, order_reference
from eltiketi_core.ports.notifications import (
    InvitationNotice,
    PaymentProblemNotice,
    RefundNotice,
    TicketsNotice,
)

#: The language of the unsuffixed templates.
BASE_LANGUAGE: Final = "en"

#: Where a buyer's link points. The ``{public_url}`` and ``{order_id}`` fields are filled in.
#: The shop's order page (it asks the buyer to log in); e-tickets link to a signed
#: ticket page instead when the app gives a :data:`TicketLink`.
DEFAULT_ORDER_URL: Final = "{public_url}/orders/{order_id}"

TicketLink = Callable[[UUID, datetime], str]
"""``(order id, event start) -> URL`` of a page showing the order's tickets without a login
(the web app's signed link, valid until after the event)."""
#: One ticket's link when there is no ticket page (no :data:`TicketLink`): its QR code in the
#: API, which the owner opens signed in. With a ticket page, each ticket's link is the page
#: at that ticket (``#ticket-<number>``).
DEFAULT_TICKET_URL: Final = "{public_url}/v1/tickets/{ticket_id}/qr.svg"
InvitationLink = Callable[[UUID, datetime], str]
"""``(invitation id, expiry) -> URL`` of the signed link that accepts an invitation
(the app's :class:`~eltiketi_app.web.links.InvitationLinks`)."""
DEFAULT_BRAND: Final = "elTiketi"

#: What each member role may do, in words, for invitations.
ROLE_MEANINGS: Final = {
    "owner": "run everything, including the team and its invitations",
    "manager": "manage events, orders, refunds and reports",
    "door": "check tickets in at the door",
}

#: Refund reasons (``RefundReason`` values) in words; anything else is shown as given.
REFUND_REASONS: Final = {
    "hold_lost": (
        "Your payment arrived after your reservation had expired and the tickets were no "
        "longer available, so no order was made."
    ),
    "customer_cancelled": "You cancelled your order.",
    "organizer_cancelled": "The organiser cancelled your order.",
    "event_cancelled": "The event has been cancelled by the organiser.",
}

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]+")
_NOT_ALPHANUMERIC: Final = re.compile(r"[^A-Za-z0-9]+")


def _localised(name: str, language: str) -> str:
    """``tickets.html.j2`` in Dutch is ``tickets.nl.html.j2``; English is the name itself."""
    if language == BASE_LANGUAGE:
        return name
    base, _, kinds = name.partition(".")
    return f"{base}.{language}.{kinds}"


def one_line(text: str) -> str:
    """Header-safe text: control characters (CR, LF, tabs…) become single spaces."""
    return " ".join(_CONTROL.sub(" ", text).split())


def short_ref(value: UUID | str) -> str:
    """A short name for an id that has no stored reference (a booking, a file name): the
    same 8 characters an order with this id gets (:func:`order_reference`), from the id's
    random bits, not its timestamp. An order's own is ``Order.reference``."""
    try:
        return order_reference(value if isinstance(value, UUID) else UUID(str(value)))
    except ValueError:
        return _NOT_ALPHANUMERIC.sub("", str(value))[:8].upper()


@dataclass(frozen=True, slots=True)
class Line:
    name: str
    quantity: int
    unit_price: str
    subtotal: str


@dataclass(frozen=True, slots=True)
class TicketView:
    number: int
    id: str
    type_name: str
    token: str
    #: Content-ID of the inline QR image (without angle brackets), for ``cid:`` links
    cid: str
    #: The ticket's own link, for the text part and the SMS: the ticket page at this ticket,
    #: or (without a ticket page) :data:`DEFAULT_TICKET_URL`
    url: str
    #: whom the ticket is for, as the buyer named them (None: not named)
    holder_name: str | None = None


@dataclass(frozen=True, slots=True)
class TicketsView:
    brand: str
    event_name: str
    venue: str
    starts: str
    starts_date: str
    timezone: str
    order_id: str
    order_ref: str
    order_url: str
    #: True when ``order_url`` is the ticket page (every ticket, no login needed)
    ticket_page: bool
    lines: tuple[Line, ...]
    total: str
    tickets: tuple[TicketView, ...]
    #: the language the message is written in (a template suffix: ``nl``)
    language: str = BASE_LANGUAGE


@dataclass(frozen=True, slots=True)
class RefundView:
    brand: str
    amount: str
    reason: str
    event_name: str | None
    order_ref: str | None
    order_url: str | None


@dataclass(frozen=True, slots=True)
class PaymentProblemView:
    brand: str
    reason: str
    event_name: str | None
    booking_ref: str


@dataclass(frozen=True, slots=True)
class InvitationView:
    brand: str
    organization_name: str
    role: str
    role_meaning: str
    invited_by: str
    #: The signed link that accepts it; None when the notifier was given no link maker.
    accept_url: str | None
    invitation_id: str
    expires: str


class MessageTemplates:
    """Builds views from notices and renders the named templates for them.

    Args:
        public_url: base URL of the service (``ELTIKETI_PUBLIC_URL``), for links.
        order_url_template: the buyer's link to an order; ``{public_url}`` and ``{order_id}``
            are filled in.
        ticket_link: the link e-tickets carry (see :data:`TicketLink`); without it they
            carry the order link.
        invitation_link: the link invitations carry (see :data:`InvitationLink`); without
            it they name the invitation's id for the invitee to accept it another way.
        brand: the sender's name in subjects and texts.
        default_locale: language of notices that carry no event locale (refunds, payment
            problems).
        templates_dir: a folder whose files override the packaged templates by name.
    """

    def __init__(
        self,
        *,
        public_url: str,
        order_url_template: str = DEFAULT_ORDER_URL,
        ticket_link: TicketLink | None = None,
        invitation_link: InvitationLink | None = None,
        brand: str = DEFAULT_BRAND,
        default_locale: str = "en",
        templates_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        if not public_url.startswith(("http://", "https://")):
            raise ValueError(f"public_url must be an http(s) URL, got {public_url!r}")
        self._public_url = public_url.rstrip("/")
        self._order_url_template = order_url_template
        self._ticket_link = ticket_link
        self._invitation_link = invitation_link
        self._brand = brand
        self._default_locale = default_locale
        loaders: list[jinja2.BaseLoader] = []
        if templates_dir is not None:
            loaders.append(jinja2.FileSystemLoader(os.fspath(templates_dir)))
        loaders.append(jinja2.PackageLoader("eltiketi_adapters.notify", "templates"))
        self._env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html.j2", "html"), default_for_string=False
            ),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,
        )
        self._languages: dict[str, bool] = {}
        self.order_url(UUID(int=0))  # fail at start-up, not at the first order

    def order_url(self, order_id: UUID | str) -> str:
        return self._order_url_template.format(public_url=self._public_url, order_id=order_id)

    def render(self, name: str, view: object) -> str:
        """Render ``templates/<name>`` with ``view`` (as ``v``) and the brand, in the view's
        ``language`` when it has templates of its own (``tickets.nl.txt.j2``)."""
        language = getattr(view, "language", BASE_LANGUAGE)
        return self._env.get_template(_localised(name, language)).render(v=view, brand=self._brand)

    def language_for(self, *choices: str | None) -> str:
        """The first of ``choices`` (language tags, best first) that has e-ticket templates;
        English when none has."""
        for choice in choices:
            if not choice:
                continue
            language = choice.replace("_", "-").split("-")[0].lower()
            if language == BASE_LANGUAGE or self._has_language(language):
                return language
        return BASE_LANGUAGE

    def _has_language(self, language: str) -> bool:
        known = self._languages.get(language)
        if known is None:
            try:
                self._env.get_template(_localised("tickets.txt.j2", language))
                known = True
            except jinja2.TemplateNotFound:
                known = False
            self._languages[language] = known
        return known

    def subject(self, name: str, view: object) -> str:
        return one_line(self.render(name, view))

    # -- views --------------------------------------------------------------------------

    def tickets_view(self, notice: TicketsNotice) -> TicketsView:
        event, order = notice.event, notice.order
        language = self.language_for(notice.locale, event.locale, self._default_locale)
        # dates and money in the buyer's own locale (en-US writes the month first); a
        # booking made without one gets the event's, then the platform's default
        locale = notice.locale or event.locale or self._default_locale

        def type_name(ticket_type_id: UUID) -> str:
            ticket_type = notice.ticket_types.get(str(ticket_type_id))
            return ticket_type.name if ticket_type is not None else "Ticket"

        valid = [t for t in notice.tickets if t.status is TicketStatus.VALID]
        page = (
            self._ticket_link(order.id, event.starts_at) if self._ticket_link is not None else None
        )

        def ticket_url(ticket_id: UUID, number: int) -> str:
            if page is not None:
                return f"{page}#ticket-{number}"
            return DEFAULT_TICKET_URL.format(public_url=self._public_url, ticket_id=ticket_id)

        return TicketsView(
            brand=self._brand,
            event_name=event.name,
            venue=event.venue,
            starts=format_local_datetime(event.starts_at, event.timezone, locale),
            starts_date=format_local_date(event.starts_at, event.timezone, locale),
            timezone=event.timezone,
            order_id=str(order.id),
            order_ref=order.reference,
            order_url=page if page is not None else self.order_url(order.id),
            ticket_page=page is not None,
            lines=tuple(
                Line(
                    name=type_name(item.ticket_type_id),
                    quantity=item.quantity,
                    unit_price=format_money(item.unit_price, locale),
                    subtotal=format_money(item.subtotal, locale),
                )
                for item in order.items
            ),
            total=format_money(order.total, locale),
            tickets=tuple(
                TicketView(
                    number=number,
                    id=str(ticket.id),
                    type_name=type_name(ticket.ticket_type_id),
                    token=ticket.token,
                    cid=f"ticket-{ticket.id}@eltiketi",
                    url=ticket_url(ticket.id, number),
                    holder_name=ticket.holder_name,
                )
                for number, ticket in enumerate(valid, start=1)
            ),
            language=language,
        )

    def refund_view(self, notice: RefundNotice) -> RefundView:
        return RefundView(
            brand=self._brand,
            amount=format_money(notice.amount, self._default_locale),
            reason=REFUND_REASONS.get(notice.reason, notice.reason),
            event_name=notice.event_name,
            order_ref=(
                notice.order_reference or (short_ref(notice.order_id) if notice.order_id else None)
            ),
            order_url=self.order_url(notice.order_id) if notice.order_id else None,
        )

    def payment_problem_view(self, notice: PaymentProblemNotice) -> PaymentProblemView:
        return PaymentProblemView(
            brand=self._brand,
            reason=notice.reason,
            event_name=notice.event_name,
            booking_ref=short_ref(notice.booking_id),
        )

    def invitation_view(self, notice: InvitationNotice) -> InvitationView:
        link = self._invitation_link
        return InvitationView(
            brand=self._brand,
            organization_name=one_line(notice.organization_name),
            role=notice.role,
            role_meaning=ROLE_MEANINGS.get(notice.role, notice.role),
            invited_by=one_line(notice.invited_by),
            accept_url=link(notice.invitation_id, notice.expires_at) if link else None,
            invitation_id=str(notice.invitation_id),
            expires=format_local_datetime(notice.expires_at, "UTC", self._default_locale),
        )
