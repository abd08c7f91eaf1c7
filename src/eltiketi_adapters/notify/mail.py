"""Building the e-mails (RFC 5322) that the SMTP and ``.eml`` notifiers deliver.

An e-ticket message is::

    multipart/alternative
    ├── text/plain                      (tickets.txt.j2)
    └── multipart/related
        ├── text/html                   (tickets.html.j2, <img src="cid:ticket-…">)
        └── image/png × one per ticket  (inline, Content-ID ticket-<id>@eltiketi)

so every mail client shows the QR codes inside the message, and text-only clients still
get the event, the order summary and a link to each ticket.

The ``Message-ID`` comes from the notice's ``message_key`` (see :func:`message_id_for`):
a copy sent again after a crash has the same one, so mail systems can fold it.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Final

from eltiketi_adapters.notify import mime
from eltiketi_adapters.notify.rendering import (
    DEFAULT_ORDER_URL,
    InvitationLink,
    MessageTemplates,
    TicketLink,
)
from eltiketi_adapters.tickets import render_qr_png
from eltiketi_core.domain.booking import Contact
from eltiketi_core.errors import ValidationFailed
from eltiketi_core.ports.notifications import (
    InvitationNotice,
    PaymentProblemNotice,
    RefundNotice,
    TicketsNotice,
)

EMAIL_CHANNEL: Final = "email"
_NOT_ATEXT: Final = re.compile(r"[^A-Za-z0-9_-]+")
_LONGEST_ID_LEFT: Final = 120


def message_id_for(message_key: str, domain: str) -> str:
    """The ``Message-ID`` of the message ``message_key`` names, from ``domain``:
    ``<tickets.0190….email@example.com>`` for ``tickets:0190…/email``.

    The same key always gives the same id (RFC 5322 ``msg-id``: a dot-atom, then the
    domain), so a message sent again after a crash is recognisably the same message; a
    resend the buyer asked for has a key of its own and so a new id. A key too long or
    with nothing usable in it is hashed.
    """
    left = _NOT_ATEXT.sub(".", message_key).strip(".")
    if not left or len(left) > _LONGEST_ID_LEFT:
        left = hashlib.sha256(message_key.encode()).hexdigest()[:40]
    return f"<{left}@{domain}>"


def accepts_email(contact: Contact) -> bool:
    """A contact can get mail when it has a non-blank address."""
    return bool(contact.email and contact.email.strip())


@dataclass(frozen=True, slots=True)
class Mail:
    """One message, serialised once, with the envelope it travels in.

    Attributes:
        sender: envelope sender (the ``From`` address).
        recipients: envelope recipients (the ``To`` address).
        message_id: the ``Message-ID`` header, angle brackets included.
        data: the whole RFC 5322 message: CRLF line ends, 7-bit unless an address
            itself is non-ASCII (then those header fields are UTF-8, RFC 6532).
    """

    sender: str
    recipients: tuple[str, ...]
    message_id: str
    data: bytes

    @property
    def needs_smtputf8(self) -> bool:
        """True when an address is non-ASCII, so the server must offer SMTPUTF8."""
        return not (self.sender.isascii() and all(r.isascii() for r in self.recipients))


class MailComposer:
    """Turns notices into :class:`Mail`: ready-to-send bytes and their envelope.

    The bytes are written directly (see :mod:`eltiketi_adapters.notify.mime`), not through
    ``email.message.EmailMessage``, whose header parsing cost several times the rest.

    Args:
        mail_from: the ``From`` header (``ELTIKETI_MAIL_FROM``), e.g.
            ``"elTiketi <tickets@example.com>"``.
        public_url: base URL for links (``ELTIKETI_PUBLIC_URL``).
        order_url_template: the buyer's order link; see :data:`DEFAULT_ORDER_URL`.
        ticket_link: the signed ticket link of an order (see :data:`TicketLink`).
        invitation_link: the signed link of an invitation (see :data:`InvitationLink`).
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
        ticket_link: TicketLink | None = None,
        invitation_link: InvitationLink | None = None,
        templates_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        name, address = parseaddr(mail_from)
        if "@" not in address or any(c in mail_from for c in "\r\n"):
            raise ValueError(f"mail_from must be an e-mail address, got {mail_from!r}")
        self.mail_from = mail_from
        self.sender_address = address
        self._domain = address.rsplit("@", 1)[1]
        self._from_header = mime.header("From", mime.mailbox_tokens(name, address))
        self.templates = MessageTemplates(
            public_url=public_url,
            order_url_template=order_url_template,
            ticket_link=ticket_link,
            invitation_link=invitation_link,
            templates_dir=templates_dir,
        )

    def tickets(self, notice: TicketsNotice) -> Mail:
        """The e-ticket mail: event, order summary, link and one inline QR PNG per valid ticket."""
        view = self.templates.tickets_view(notice)
        images = [
            mime.inline_image_part(
                render_qr_png(ticket.token),
                subtype="png",
                content_id=ticket.cid,
                filename=f"ticket-{ticket.number}.png",
            )
            for ticket in view.tickets
        ]
        return self._mail(
            to=notice.contact,
            subject=self.templates.subject("tickets.subject.j2", view),
            text=self.templates.render("tickets.txt.j2", view),
            html=self.templates.render("tickets.html.j2", view),
            images=images,
            message_key=notice.message_key,
        )

    def refund(self, notice: RefundNotice) -> Mail:
        view = self.templates.refund_view(notice)
        return self._mail(
            to=notice.contact,
            subject=self.templates.subject("refund.subject.j2", view),
            text=self.templates.render("refund.txt.j2", view),
            html=self.templates.render("refund.html.j2", view),
            message_key=notice.message_key,
        )

    def payment_problem(self, notice: PaymentProblemNotice) -> Mail:
        view = self.templates.payment_problem_view(notice)
        return self._mail(
            to=notice.contact,
            subject=self.templates.subject("payment_problem.subject.j2", view),
            text=self.templates.render("payment_problem.txt.j2", view),
            html=self.templates.render("payment_problem.html.j2", view),
            message_key=notice.message_key,
        )

    def invitation(self, notice: InvitationNotice) -> Mail:
        """An invitation to join an organization, with the signed link that accepts it."""
        view = self.templates.invitation_view(notice)
        return self._mail(
            to=notice.contact,
            subject=self.templates.subject("invitation.subject.j2", view),
            text=self.templates.render("invitation.txt.j2", view),
            html=self.templates.render("invitation.html.j2", view),
            message_key=notice.message_key,
        )

    def _mail(
        self,
        *,
        to: Contact,
        subject: str,
        text: str,
        html: str,
        images: list[mime.Part] | None = None,
        message_key: str | None = None,
    ) -> Mail:
        """``multipart/alternative``: text, then HTML (in ``multipart/related`` with images).

        Without a ``message_key`` the ``Message-ID`` is a fresh random one."""
        name, address = _recipient(to)
        message_id = (
            make_msgid(domain=self._domain)
            if message_key is None
            else message_id_for(message_key, self._domain)
        )
        html_part = mime.text_part(html, "html")
        if images:
            html_part = mime.multipart("related", [html_part, *images])
        body = mime.multipart("alternative", [mime.text_part(text, "plain"), html_part])
        out = [
            self._from_header,
            mime.header("To", mime.mailbox_tokens(name, address)),
            mime.header("Subject", mime.unstructured_tokens(subject)),
            mime.header("Date", [format_datetime(datetime.now(UTC))]),
            mime.header("Message-ID", [message_id]),
            # Transactional mail: no out-of-office replies, please (RFC 3834).
            b"Auto-Submitted: auto-generated\r\n",
            b"MIME-Version: 1.0\r\n",
        ]
        body.write(out)
        return Mail(
            sender=self.sender_address,
            recipients=(address,),
            message_id=message_id,
            data=b"".join(out),
        )


def _recipient(contact: Contact) -> tuple[str, str]:
    """The contact's display name and address, refusing anything that is not one mailbox."""
    raw = (contact.email or "").strip()
    name, address = parseaddr(raw)
    if not address or "@" not in address or any(c in raw for c in "\r\n"):
        raise ValidationFailed("invalid_email", "the contact has no usable e-mail address")
    username, _, domain = address.rpartition("@")
    if not username or not domain or any(c.isspace() or c in '<>()[]\\,;:"' for c in address):
        raise ValidationFailed("invalid_email", f"cannot address mail to {raw!r}")
    return name, address
