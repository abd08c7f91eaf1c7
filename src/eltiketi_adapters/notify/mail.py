"""Building the e-mails (RFC 5322) that the SMTP and ``.eml`` notifiers deliver.

An e-ticket message is::

    multipart/alternative
    ├── text/plain                      (tickets.txt.j2)
    └── multipart/related
        ├── text/html                   (tickets.html.j2, <img src="cid:ticket-…">)
        └── image/png × one per ticket  (inline, Content-ID ticket-<id>@eltiketi)

so every mail client shows the QR codes inside the message, and text-only clients still
get the event, the order summary and the link.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Final

from eltiketi_adapters.notify.rendering import DEFAULT_ORDER_URL, MessageTemplates
from eltiketi_adapters.tickets import render_qr_png
from eltiketi_core.domain.booking import Contact
from eltiketi_core.errors import ValidationFailed
from eltiketi_core.ports.notifications import PaymentProblemNotice, RefundNotice, TicketsNotice

EMAIL_CHANNEL: Final = "email"


def accepts_email(contact: Contact) -> bool:
    """A contact can get mail when it has a non-blank address."""
    return bool(contact.email and contact.email.strip())


class MailComposer:
    """Turns notices into ready-to-send :class:`~email.message.EmailMessage` objects.

    Args:
        mail_from: the ``From`` header (``ELTIKETI_MAIL_FROM``), e.g.
            ``"elTiketi <tickets@example.com>"``.
        public_url: base URL for links (``ELTIKETI_PUBLIC_URL``).
        order_url_template: the buyer's order link; see :data:`DEFAULT_ORDER_URL`.
        templates_dir: optional folder overriding packaged templates by file name.

    Raises:
        ValueError: ``mail_from`` is not an address, or ``public_url`` not an http(s) URL.
    """

    def __init__(
        self,
        *,
        mail_from: str,
        public_url: str,
        order_url_template: str = DEFAULT_ORDER_URL,
        templates_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        _, address = parseaddr(mail_from)
        if "@" not in address or any(c in mail_from for c in "\r\n"):
            raise ValueError(f"mail_from must be an e-mail address, got {mail_from!r}")
        self.mail_from = mail_from
        self.sender_address = address
        self._domain = address.rsplit("@", 1)[1]
        self.templates = MessageTemplates(
            public_url=public_url,
            order_url_template=order_url_template,
            templates_dir=templates_dir,
        )

    def tickets(self, notice: TicketsNotice) -> EmailMessage:
        """The e-ticket mail: event, order summary, link and one inline QR PNG per valid ticket."""
        view = self.templates.tickets_view(notice)
        message = self._message(
            to=notice.contact,
            subject=self.templates.subject("tickets.subject.j2", view),
            text=self.templates.render("tickets.txt.j2", view),
            html=self.templates.render("tickets.html.j2", view),
        )
        html_part = message.get_body(("html",))
        assert isinstance(html_part, EmailMessage)
        for ticket in view.tickets:
            html_part.add_related(
                render_qr_png(ticket.token),
                maintype="image",
                subtype="png",
                cid=f"<{ticket.cid}>",
                disposition="inline",
                filename=f"ticket-{ticket.number}.png",
            )
        return message

    def refund(self, notice: RefundNotice) -> EmailMessage:
        view = self.templates.refund_view(notice)
        return self._message(
            to=notice.contact,
            subject=self.templates.subject("refund.subject.j2", view),
            text=self.templates.render("refund.txt.j2", view),
            html=self.templates.render("refund.html.j2", view),
        )

    def payment_problem(self, notice: PaymentProblemNotice) -> EmailMessage:
        view = self.templates.payment_problem_view(notice)
        return self._message(
            to=notice.contact,
            subject=self.templates.subject("payment_problem.subject.j2", view),
            text=self.templates.render("payment_problem.txt.j2", view),
            html=self.templates.render("payment_problem.html.j2", view),
        )

    def _message(self, *, to: Contact, subject: str, text: str, html: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.mail_from
        message["To"] = _recipient(to)
        message["Subject"] = subject
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = make_msgid(domain=self._domain)
        # Transactional mail: no out-of-office replies, please (RFC 3834).
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        return message


def _recipient(contact: Contact) -> Address:
    raw = (contact.email or "").strip()
    name, address = parseaddr(raw)
    if not address or "@" not in address or any(c in raw for c in "\r\n"):
        raise ValidationFailed("invalid_email", "the contact has no usable e-mail address")
    username, _, domain = address.rpartition("@")
    try:
        return Address(display_name=name, username=username, domain=domain)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed("invalid_email", f"cannot address mail to {raw!r}") from exc
