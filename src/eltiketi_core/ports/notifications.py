"""Telling the buyer: e-tickets, refund notices, payment problems, by email or SMS."""

from __future__ import annotations

from typing import Protocol

import msgspec

from eltiketi_core.domain.booking import Contact
from eltiketi_core.domain.catalog import Event, TicketType
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.order import Order, Ticket


class TicketsNotice(msgspec.Struct, frozen=True, kw_only=True):
    """Everything an e-ticket message shows: the event (for its timezone and locale),
    the order summary and each ticket with its signed token."""

    order: Order
    event: Event
    ticket_types: dict[str, TicketType]
    tickets: tuple[Ticket, ...]
    contact: Contact


class RefundNotice(msgspec.Struct, frozen=True, kw_only=True):
    contact: Contact
    buyer: str
    amount: Money
    reason: str
    order_id: str | None = None
    event_name: str | None = None


class PaymentProblemNotice(msgspec.Struct, frozen=True, kw_only=True):
    contact: Contact
    buyer: str
    booking_id: str
    reason: str
    event_name: str | None = None


class Notifier(Protocol):
    """One delivery channel. ``channel`` is ``email`` or ``sms``.

    ``accepts`` says whether the contact can be reached on this channel. A send
    raises on failure; the notification use cases record and retry.
    """

    channel: str

    def accepts(self, contact: Contact) -> bool: ...

    async def send_tickets(self, notice: TicketsNotice) -> None: ...

    async def send_refund(self, notice: RefundNotice) -> None: ...

    async def send_payment_problem(self, notice: PaymentProblemNotice) -> None: ...
