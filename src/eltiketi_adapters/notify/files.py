"""Embedded delivery: messages written as files in the data folder instead of being sent.

``.eml`` files open in any mail client (double-click), so a newcomer walking the journey
sees the real e-ticket with its QR codes; SMS become small text files. Each file is written
aside and renamed into place, so a reader never sees half a message. Files are readable
by their owner only: the QR codes in them admit people.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from eltiketi_adapters.notify.mail import EMAIL_CHANNEL, Mail, MailComposer, accepts_email
from eltiketi_adapters.notify.rendering import (
    DEFAULT_ORDER_URL,
    InvitationLink,
    TicketLink,
    short_ref,
)
from eltiketi_adapters.notify.sms import SMS_CHANNEL, SmsComposer, accepts_sms, normalise_phone
from eltiketi_core.domain.booking import Contact
from eltiketi_core.errors import GatewayUnavailable
from eltiketi_core.ports.notifications import (
    InvitationNotice,
    PaymentProblemNotice,
    RefundNotice,
    TicketsNotice,
)

log = logging.getLogger(__name__)

_FILE_MODE: Final = 0o600


class EmlFileNotifier:
    """E-mail channel that writes one RFC 5322 ``.eml`` file per message into ``folder``.

    File names sort by time: ``20260314T183000123456Z-tickets-1A2B3C4D-9f8e7d.eml``.

    Args:
        folder: where the files go (created if missing), e.g. ``<data dir>/mail``.
        mail_from: the ``From`` header.
        public_url: base URL for links in the messages.
        order_url_template: the buyer's order link; see :data:`DEFAULT_ORDER_URL`.
        ticket_link: the signed ticket link of an order (see :data:`TicketLink`).
        invitation_link: the signed link of an invitation (see :data:`InvitationLink`).
        templates_dir: optional folder overriding packaged templates by file name.
    """

    channel: str = EMAIL_CHANNEL

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        mail_from: str,
        public_url: str,
        order_url_template: str = DEFAULT_ORDER_URL,
        ticket_link: TicketLink | None = None,
        invitation_link: InvitationLink | None = None,
        templates_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.composer = MailComposer(
            mail_from=mail_from,
            public_url=public_url,
            order_url_template=order_url_template,
            ticket_link=ticket_link,
            invitation_link=invitation_link,
            templates_dir=templates_dir,
        )

    def accepts(self, contact: Contact) -> bool:
        return accepts_email(contact)

    async def send_tickets(self, notice: TicketsNotice) -> None:
        await self._write("tickets", notice.order.id, self.composer.tickets(notice))

    async def send_refund(self, notice: RefundNotice) -> None:
        await self._write("refund", notice.order_id or "", self.composer.refund(notice))

    async def send_payment_problem(self, notice: PaymentProblemNotice) -> None:
        message = self.composer.payment_problem(notice)
        await self._write("payment_problem", notice.booking_id, message)

    async def send_invitation(self, notice: InvitationNotice) -> None:
        await self._write("invitation", notice.invitation_id, self.composer.invitation(notice))

    async def _write(self, kind: str, ref: object, mail: Mail) -> None:
        # The bytes as they would go on the wire (CRLF line ends).
        path = await _write_file(self.folder, _file_name(kind, ref, "eml"), mail.data)
        log.info("e-mail written to file", extra={"kind": kind, "path": str(path)})


class SmsFileNotifier:
    """SMS channel that writes one text file per message into ``folder``.

    Each file holds a ``To:`` line, a blank line and the text exactly as it would be sent.

    Args:
        folder: where the files go (created if missing), e.g. ``<data dir>/sms``.
        public_url: base URL for links in the texts.
        order_url_template: the buyer's order link; see :data:`DEFAULT_ORDER_URL`.
        ticket_link: the signed ticket link of an order (see :data:`TicketLink`).
        templates_dir: optional folder overriding packaged templates by file name.
    """

    channel: str = SMS_CHANNEL

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        public_url: str,
        order_url_template: str = DEFAULT_ORDER_URL,
        ticket_link: TicketLink | None = None,
        templates_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.composer = SmsComposer(
            public_url=public_url,
            order_url_template=order_url_template,
            ticket_link=ticket_link,
            templates_dir=templates_dir,
        )

    def accepts(self, contact: Contact) -> bool:
        return accepts_sms(contact)

    async def send_tickets(self, notice: TicketsNotice) -> None:
        await self._write("tickets", notice.order.id, notice.contact, self.composer.tickets(notice))

    async def send_refund(self, notice: RefundNotice) -> None:
        await self._write(
            "refund", notice.order_id or "", notice.contact, self.composer.refund(notice)
        )

    async def send_payment_problem(self, notice: PaymentProblemNotice) -> None:
        text = self.composer.payment_problem(notice)
        await self._write("payment_problem", notice.booking_id, notice.contact, text)

    async def send_invitation(self, notice: InvitationNotice) -> None:
        text = self.composer.invitation(notice)
        await self._write("invitation", notice.invitation_id, notice.contact, text)

    async def _write(self, kind: str, ref: object, contact: Contact, text: str) -> None:
        data = f"To: {normalise_phone(contact)}\n\n{text}\n".encode()
        path = await _write_file(self.folder, _file_name(kind, ref, "txt"), data)
        log.info("SMS written to file", extra={"kind": kind, "path": str(path)})


def _file_name(kind: str, ref: object, suffix: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    reference = short_ref(str(ref)) if ref else "none"
    return f"{stamp}-{kind}-{reference}-{secrets.token_hex(3)}.{suffix}"


async def _write_file(folder: Path, name: str, data: bytes) -> Path:
    try:
        return await asyncio.to_thread(_write_atomically, folder, name, data)
    except OSError as exc:
        raise GatewayUnavailable(
            "notification_write_failed", f"cannot write {name} to {folder}: {exc.strerror}"
        ) from exc


def _write_atomically(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / name
    temporary = folder / f".{name}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return final
