"""E-mail over SMTP (aiosmtplib): plain for a local relay, STARTTLS, or implicit TLS.

Configuration is one URL (``ELTIKETI_SMTP_URL``), parsed by :meth:`SmtpConfig.from_url`:

============================================  ==========================================
``smtp://host``                               plain SMTP on port 25 (local relays only)
``smtp://user:pass@host:587?starttls=true``   STARTTLS required (port 587 by default)
``smtps://user:pass@host``                    implicit TLS (port 465 by default)
``…?timeout=5``                               seconds per network step (default 10)
============================================  ==========================================

Credentials are optional and percent-decoded (``p%40ss`` is ``p@ss``). With STARTTLS the
upgrade is mandatory: a server that does not offer it fails the send instead of silently
falling back to plain text.
"""

from __future__ import annotations

import logging
import os
import ssl
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import parse_qs, quote, unquote, urlsplit

import aiosmtplib

from eltiketi_adapters.notify.mail import EMAIL_CHANNEL, Mail, MailComposer, accepts_email
from eltiketi_adapters.notify.rendering import DEFAULT_ORDER_URL, InvitationLink, TicketLink
from eltiketi_core.domain.booking import Contact
from eltiketi_core.errors import GatewayUnavailable
from eltiketi_core.ports.notifications import (
    InvitationNotice,
    PaymentProblemNotice,
    RefundNotice,
    TicketsNotice,
)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT: Final = 10.0
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})
_LOOPBACK: Final = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True, kw_only=True)
class SmtpConfig:
    """Where and how to hand mail over. Build it with :meth:`from_url`.

    Attributes:
        host: server name or address.
        port: TCP port.
        username: login for SMTP AUTH, or None to send without authenticating.
        password: password for SMTP AUTH (never shown in ``repr``).
        implicit_tls: TLS from the first byte (``smtps://``, usually port 465).
        starttls: upgrade a plain connection with STARTTLS, and fail if the server cannot.
        timeout: seconds allowed for each network step (connect, each command).
    """

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    implicit_tls: bool = False
    starttls: bool = False
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        if self.implicit_tls and self.starttls:
            raise ValueError("smtps:// already uses TLS; starttls=true makes no sense with it")
        if self.timeout <= 0:
            raise ValueError("the SMTP timeout must be positive")
        if not self.host:
            raise ValueError("the SMTP URL needs a host")

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        """Parse ``smtp[s]://[user[:password]@]host[:port][?starttls=true&timeout=10]``.

        Raises:
            ValueError: an unknown scheme or query parameter, or a bad value (the message
                never contains the password).
        """
        parts = urlsplit(url.strip())
        if parts.scheme not in {"smtp", "smtps"}:
            raise ValueError(
                f"ELTIKETI_SMTP_URL must start with smtp:// or smtps://, got {parts.scheme!r}"
            )
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        unknown = set(query) - {"starttls", "timeout"}
        if unknown:
            raise ValueError(f"unknown SMTP URL parameter(s): {', '.join(sorted(unknown))}")
        starttls = _flag(query.get("starttls", "false"), "starttls")
        implicit_tls = parts.scheme == "smtps"
        try:
            port = parts.port
        except ValueError:
            raise ValueError("the SMTP URL has an invalid port") from None
        if port is None:
            port = 465 if implicit_tls else 587 if starttls else 25
        try:
            timeout = float(query.get("timeout", DEFAULT_TIMEOUT))
        except ValueError:
            raise ValueError("the SMTP URL's timeout must be a number of seconds") from None
        return cls(
            host=parts.hostname or "",
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            implicit_tls=implicit_tls,
            starttls=starttls,
            timeout=timeout,
        )

    @property
    def redacted_url(self) -> str:
        """The configuration as a URL without the password, for logs and error messages."""
        scheme = "smtps" if self.implicit_tls else "smtp"
        user = f"{quote(self.username, safe='')}:***@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        query = "?starttls=true" if self.starttls else ""
        return f"{scheme}://{user}{host}:{self.port}{query}"


class SmtpNotifier:
    """E-mail channel over SMTP: one connection per message, every failure a domain error.

    Args:
        config: the server (see :meth:`SmtpConfig.from_url`).
        mail_from: the ``From`` header and envelope sender (``ELTIKETI_MAIL_FROM``).
        public_url: base URL for links (``ELTIKETI_PUBLIC_URL``).
        order_url_template: the buyer's order link; see :data:`DEFAULT_ORDER_URL`.
        ticket_link: the signed ticket link of an order (see :data:`TicketLink`).
        invitation_link: the signed link of an invitation (see :data:`InvitationLink`).
        templates_dir: optional folder overriding packaged templates by file name.
        tls_context: the TLS settings (CA bundle, client certificate); the system's
            defaults, with certificate checks, when omitted.

    A send raises :class:`~eltiketi_core.errors.GatewayUnavailable`:

    * code ``smtp_unavailable`` — could not connect, timed out, connection lost, or a 4xx
      (temporary) answer; ``extra["permanent"]`` is False.
    * code ``smtp_rejected`` — a 5xx answer (recipient refused, authentication failed,
      message refused) or a server lacking what the URL requires (STARTTLS, AUTH);
      ``extra["permanent"]`` is True, since retrying the same message will not help.
    """

    channel: str = EMAIL_CHANNEL

    def __init__(
        self,
        config: SmtpConfig,
        *,
        mail_from: str,
        public_url: str,
        order_url_template: str = DEFAULT_ORDER_URL,
        ticket_link: TicketLink | None = None,
        invitation_link: InvitationLink | None = None,
        templates_dir: str | os.PathLike[str] | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.config = config
        self.composer = MailComposer(
            mail_from=mail_from,
            public_url=public_url,
            order_url_template=order_url_template,
            ticket_link=ticket_link,
            invitation_link=invitation_link,
            templates_dir=templates_dir,
        )
        self._tls_context = tls_context
        plain = not (config.implicit_tls or config.starttls)
        if plain and config.username and config.host not in _LOOPBACK:
            log.warning(
                "SMTP credentials will cross the network unencrypted; use smtps:// or ?starttls=true",
                extra={"smtp": config.redacted_url},
            )

    def accepts(self, contact: Contact) -> bool:
        return accepts_email(contact)

    async def send_tickets(self, notice: TicketsNotice) -> None:
        await self.send(self.composer.tickets(notice), kind="tickets")

    async def send_refund(self, notice: RefundNotice) -> None:
        await self.send(self.composer.refund(notice), kind="refund")

    async def send_payment_problem(self, notice: PaymentProblemNotice) -> None:
        await self.send(self.composer.payment_problem(notice), kind="payment_problem")

    async def send_invitation(self, notice: InvitationNotice) -> None:
        await self.send(self.composer.invitation(notice), kind="invitation")

    async def send(self, mail: Mail, *, kind: str = "message") -> None:
        """Hand one composed mail to the server, as is (its bytes are not re-serialised).

        A mail to a non-ASCII address asks for SMTPUTF8 (and fails permanently on a server
        without it).
        """
        config = self.config
        try:
            await aiosmtplib.send(
                mail.data,
                sender=mail.sender,
                recipients=mail.recipients,
                mail_options=["SMTPUTF8"] if mail.needs_smtputf8 else None,
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=config.password,
                use_tls=config.implicit_tls,
                start_tls=config.starttls,
                timeout=config.timeout,
                tls_context=self._tls_context,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            raise _failure(config, kind, "recipient refused", code=min(codes, default=550)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise _failure(config, kind, exc.message, code=exc.code) from exc
        except (
            aiosmtplib.SMTPServerDisconnected,
            aiosmtplib.SMTPConnectError,
            aiosmtplib.SMTPTimeoutError,
            TimeoutError,
            OSError,
        ) as exc:
            raise _failure(config, kind, str(exc) or type(exc).__name__, permanent=False) from exc
        except aiosmtplib.SMTPException as exc:
            # What is left is the server lacking something we require (STARTTLS, AUTH):
            # a configuration mismatch that no retry will fix.
            raise _failure(config, kind, exc.message, permanent=True) from exc
        log.info(
            "e-mail sent",
            extra={"kind": kind, "smtp": config.redacted_url, "message_id": mail.message_id},
        )


def _failure(
    config: SmtpConfig,
    kind: str,
    reason: str,
    *,
    code: int | None = None,
    permanent: bool | None = None,
) -> GatewayUnavailable:
    """``smtp_rejected`` for 5xx answers and missing capabilities, ``smtp_unavailable`` else."""
    if permanent is None:
        permanent = code is not None and code >= 500
    error = GatewayUnavailable(
        "smtp_rejected" if permanent else "smtp_unavailable",
        f"SMTP {config.host}:{config.port}: {f'{code} ' if code else ''}{reason}",
        permanent=permanent,
        smtp_code=code,
    )
    log.warning(
        "e-mail not sent",
        extra={"kind": kind, "smtp": config.redacted_url, "smtp_code": code, "error": reason},
    )
    return error


def _flag(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"the SMTP URL's {name} must be true or false, got {value!r}")
