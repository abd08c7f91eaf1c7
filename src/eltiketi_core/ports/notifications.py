"""Telling people: e-tickets, refund notices, payment problems (buyers, by email or SMS)
and invitations to an organization's team (by email)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

import msgspec

from eltiketi_core.domain.booking import Contact
from eltiketi_core.domain.catalog import Event, TicketType
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.order import Order, Ticket


class TicketsNotice(msgspec.Struct, frozen=True, kw_only=True):
    """Everything an e-ticket message shows: the event (for its timezone and locale),
    the order summary and each ticket with its signed token.

    ``message_key`` (on every notice) names this message on this channel: the same on
    every retry of it, so a copy sent again after a crash carries the same e-mail
    ``Message-ID`` and SMS idempotency key and can be recognised; a new one when the buyer
    asks for the message again. None: the notifier makes up an identity of its own.
    """

    order: Order
    event: Event
    ticket_types: dict[str, TicketType]
    tickets: tuple[Ticket, ...]
    contact: Contact
    message_key: str | None = None
    #: the buyer's language in the shop (BCP 47); None: write in the event's language
    locale: str | None = None


class RefundNotice(msgspec.Struct, frozen=True, kw_only=True):
    contact: Contact
    buyer: str
    amount: Money
    reason: str
    order_id: str | None = None
    event_name: str | None = None
    #: The order's reference (``Order.reference``), when the refund is for an order.
    order_reference: str | None = None
    message_key: str | None = None


class PaymentProblemNotice(msgspec.Struct, frozen=True, kw_only=True):
    contact: Contact
    buyer: str
    booking_id: str
    reason: str
    event_name: str | None = None
    message_key: str | None = None


class InvitationNotice(msgspec.Struct, frozen=True, kw_only=True):
    """An owner invites ``contact.email`` to join ``organization_name`` as ``role``.

    The notifier turns ``invitation_id`` and ``expires_at`` into the signed link that
    accepts it (the app gives notifiers the link maker, as it does for ticket links).
    """

    contact: Contact
    invitation_id: UUID
    organization_name: str
    role: str
    invited_by: str
    expires_at: datetime
    message_key: str | None = None


class Notifier(Protocol):
    """One delivery channel. ``channel`` is ``email`` or ``sms``.

    ``accepts`` says whether the contact can be reached on this channel. A send
    raises on failure; the notification use cases record and retry. A notifier derives
    whatever identity its channel has (e-mail ``Message-ID``, a provider's idempotency
    key) from the notice's ``message_key`` when it is set.
    """

    channel: str

    def accepts(self, contact: Contact) -> bool: ...

    async def send_tickets(self, notice: TicketsNotice) -> None: ...

    async def send_refund(self, notice: RefundNotice) -> None: ...

    async def send_payment_problem(self, notice: PaymentProblemNotice) -> None: ...

    async def send_invitation(self, notice: InvitationNotice) -> None: ...
