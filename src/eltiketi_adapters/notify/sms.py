"""Short texts for the SMS notifiers: one line each, with the link to the order."""

from __future__ import annotations

import os
import re
from typing import Final

from eltiketi_adapters.notify.rendering import DEFAULT_ORDER_URL, MessageTemplates, TicketLink
from eltiketi_core.domain.booking import Contact
from eltiketi_core.errors import ValidationFailed
from eltiketi_core.ports.notifications import (
    InvitationNotice,
    PaymentProblemNotice,
    RefundNotice,
    TicketsNotice,
)

SMS_CHANNEL: Final = "sms"
_SEPARATORS: Final = re.compile(r"[\s().\-/]")
_PHONE: Final = re.compile(r"^\+?[0-9]{5,15}$")


def accepts_sms(contact: Contact) -> bool:
    """A contact can get texts when it has a non-blank phone number."""
    return bool(contact.phone and contact.phone.strip())


def normalise_phone(contact: Contact) -> str:
    """The contact's number without spaces, dashes, dots or brackets (``+49 151 …`` → ``+49151…``).

    Raises:
        ValidationFailed: no number, or something that is not a phone number. Retrying
            cannot help, so this is not a gateway error.
    """
    raw = contact.phone or ""
    number = _SEPARATORS.sub("", raw)
    if not _PHONE.match(number):
        raise ValidationFailed("invalid_phone", "the contact has no usable phone number")
    return number


class SmsComposer:
    """Renders the ``*.sms.j2`` templates for a notice.

    Args:
        public_url: base URL for links (``ELTIKETI_PUBLIC_URL``).
        order_url_template: the buyer's order link; see :data:`DEFAULT_ORDER_URL`.
        ticket_link: the signed ticket link of an order (see :data:`TicketLink`).
        templates_dir: optional folder overriding packaged templates by file name.
    """

    def __init__(
        self,
        *,
        public_url: str,
        order_url_template: str = DEFAULT_ORDER_URL,
        ticket_link: TicketLink | None = None,
        templates_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.templates = MessageTemplates(
            public_url=public_url,
            order_url_template=order_url_template,
            ticket_link=ticket_link,
            templates_dir=templates_dir,
        )

    def tickets(self, notice: TicketsNotice) -> str:
        return self._text("tickets.sms.j2", self.templates.tickets_view(notice))

    def refund(self, notice: RefundNotice) -> str:
        return self._text("refund.sms.j2", self.templates.refund_view(notice))

    def payment_problem(self, notice: PaymentProblemNotice) -> str:
        return self._text("payment_problem.sms.j2", self.templates.payment_problem_view(notice))

    def invitation(self, notice: InvitationNotice) -> str:
        """Invitations go by e-mail (their link must reach the invited address); should a
        contact with a phone get one, the text points to that e-mail."""
        return self._text("invitation.sms.j2", self.templates.invitation_view(notice))

    def _text(self, name: str, view: object) -> str:
        return " ".join(self.templates.render(name, view).split())
