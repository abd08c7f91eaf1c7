"""SMS through an HTTP provider API, Twilio's Messages API shape by default.

One request per text::

    POST {url}/2010-04-01/Accounts/{user}/Messages.json
    Authorization: Basic base64(user:token)
    Content-Type: application/x-www-form-urlencoded

    To=+4915112345678&From=+15005550006&Body=…

(``MessagingServiceSid`` replaces ``From`` when the sender is a Twilio messaging service,
``MG…``). Providers with the same shape (Twilio, and the many services and test doubles that
copy its API) work by pointing ``url`` at them.

A notice with a ``message_key`` is sent with an idempotency key derived from it
(:func:`idempotency_key_for`), in the ``Idempotency-Key`` header (the IETF draft's name,
honoured by providers such as Telnyx) and in ``I-Twilio-Idempotency-Token``: a text sent
again after a crash carries the same key, so a provider that honours either can drop the
copy; one that honours neither ignores them.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Final, Self
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit

import httpx

from eltiketi_adapters.closing import ClosedOnExit
from eltiketi_adapters.notify.rendering import DEFAULT_ORDER_URL, TicketLink
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

TWILIO_API: Final = "https://api.twilio.com"
DEFAULT_TIMEOUT: Final = 10.0
#: Twilio messaging service ids look like ``MG`` + 32 hex digits.
_MESSAGING_SERVICE: Final = re.compile(r"^MG[0-9a-fA-F]{32}$")
#: Name space of the idempotency keys (a UUIDv5 of the message key in it).
_IDEMPOTENCY_NAMESPACE: Final = uuid.UUID("6f0a1c7e-3b2d-5e4f-9a8b-7c6d5e4f3a2b")
IDEMPOTENCY_HEADERS: Final = ("Idempotency-Key", "I-Twilio-Idempotency-Token")


def idempotency_key_for(message_key: str) -> str:
    """The provider idempotency key of the text ``message_key`` names: a UUID (letters,
    digits and hyphens, which every provider's key syntax accepts), the same for every
    retry of the message."""
    return str(uuid.uuid5(_IDEMPOTENCY_NAMESPACE, message_key))


@dataclass(frozen=True, kw_only=True)
class HttpSmsConfig:
    """The provider account. ``token`` is never shown in ``repr``.

    Attributes:
        url: the API base, e.g. ``https://api.twilio.com`` (``ELTIKETI_SMS_URL``).
        user: the account id, e.g. Twilio's Account SID (``ELTIKETI_SMS_USER``); also the
            HTTP basic-auth user.
        token: the auth token (``ELTIKETI_SMS_TOKEN``); the HTTP basic-auth password.
        sender: the ``From`` number (E.164) or alphanumeric sender id, or a Twilio messaging
            service id (``MG…``).
        timeout: seconds for the whole request.
    """

    url: str
    user: str
    token: str = field(repr=False)
    sender: str
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError(f"the SMS URL must be an http(s) URL, got {self.url!r}")
        if not self.user or not self.token:
            raise ValueError("the SMS provider needs a user (account id) and a token")
        if not self.sender:
            raise ValueError("the SMS provider needs a sender (From number or service id)")
        if self.timeout <= 0:
            raise ValueError("the SMS timeout must be positive")

    @classmethod
    def from_settings(
        cls,
        url: str,
        user: str,
        token: str,
        sender: str | None = None,
        *,
        timeout: float | None = None,
    ) -> Self:
        """Build from the ``ELTIKETI_SMS_*`` values; the sender may ride in the URL.

        ``ELTIKETI_SMS_URL=https://api.twilio.com?from=%2B15005550006`` carries the sender
        as a ``from`` query parameter when no separate ``sender`` is given.

        Raises:
            ValueError: missing or malformed values.
        """
        parts = urlsplit(url.strip())
        query = parse_qs(parts.query)
        from_url = query.pop("from", [None])[-1]
        base = urlunsplit(
            (parts.scheme, parts.netloc, parts.path.rstrip("/"), urlencode(query, doseq=True), "")
        )
        return cls(
            url=base,
            user=user,
            token=token,
            sender=sender or from_url or "",
            timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
        )

    @property
    def messages_url(self) -> str:
        return (
            f"{self.url.rstrip('/')}/2010-04-01/Accounts/{quote(self.user, safe='')}/Messages.json"
        )


class HttpSmsNotifier(ClosedOnExit):
    """SMS channel through an HTTP provider (Twilio's API shape).

    Args:
        config: the provider account.
        public_url: base URL for the order link in each text (``ELTIKETI_PUBLIC_URL``).
        order_url_template: the buyer's order link; see :data:`DEFAULT_ORDER_URL`.
        ticket_link: the signed ticket link of an order (see :data:`TicketLink`).
        templates_dir: optional folder overriding packaged templates by file name.
        client: an ``httpx.AsyncClient`` owned by the app's lifespan; when omitted the
            notifier makes its own, closed by :meth:`aclose`.

    A send raises :class:`~eltiketi_core.errors.GatewayUnavailable` with the provider's
    own message in ``detail``:

    * code ``sms_unavailable`` — network error, timeout, 429 or 5xx (``permanent`` False);
    * code ``sms_rejected`` — any other 4xx: bad number, bad credentials, unknown sender
      (``permanent`` True; ``extra`` has ``status`` and the provider's ``provider_code``).
    """

    channel: str = SMS_CHANNEL

    def __init__(
        self,
        config: HttpSmsConfig,
        *,
        public_url: str,
        order_url_template: str = DEFAULT_ORDER_URL,
        ticket_link: TicketLink | None = None,
        templates_dir: str | os.PathLike[str] | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.config = config
        self.composer = SmsComposer(
            public_url=public_url,
            order_url_template=order_url_template,
            ticket_link=ticket_link,
            templates_dir=templates_dir,
        )
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient()

    async def aclose(self) -> None:
        """Close the HTTP client if this notifier created it."""
        if self._owns_client:
            await self._client.aclose()

    def accepts(self, contact: Contact) -> bool:
        return accepts_sms(contact)

    async def send_tickets(self, notice: TicketsNotice) -> None:
        text = self.composer.tickets(notice)
        await self.send(notice.contact, text, kind="tickets", message_key=notice.message_key)

    async def send_refund(self, notice: RefundNotice) -> None:
        text = self.composer.refund(notice)
        await self.send(notice.contact, text, kind="refund", message_key=notice.message_key)

    async def send_payment_problem(self, notice: PaymentProblemNotice) -> None:
        text = self.composer.payment_problem(notice)
        await self.send(
            notice.contact, text, kind="payment_problem", message_key=notice.message_key
        )

    async def send_invitation(self, notice: InvitationNotice) -> None:
        text = self.composer.invitation(notice)
        await self.send(notice.contact, text, kind="invitation", message_key=notice.message_key)

    async def send(
        self,
        contact: Contact,
        text: str,
        *,
        kind: str = "message",
        message_key: str | None = None,
    ) -> str | None:
        """Send ``text`` to the contact's phone; returns the provider's message id if given.

        With a ``message_key``, the request carries its idempotency key (see the module).
        """
        config = self.config
        sender_field = "MessagingServiceSid" if _MESSAGING_SERVICE.match(config.sender) else "From"
        form = {"To": normalise_phone(contact), sender_field: config.sender, "Body": text}
        headers = {"Accept": "application/json"}
        if message_key is not None:
            key = idempotency_key_for(message_key)
            headers.update(dict.fromkeys(IDEMPOTENCY_HEADERS, key))
        try:
            response = await self._client.post(
                config.messages_url,
                data=form,
                auth=(config.user, config.token),
                headers=headers,
                timeout=config.timeout,
            )
        except httpx.HTTPError as exc:
            log.warning("SMS not sent", extra={"kind": kind, "error": type(exc).__name__})
            raise GatewayUnavailable(
                "sms_unavailable",
                f"SMS provider {_host(config.url)} unreachable: {type(exc).__name__}",
                permanent=False,
            ) from exc
        if response.is_success:
            sid = _json(response).get("sid")
            log.info("SMS sent", extra={"kind": kind, "provider_id": sid})
            return sid if isinstance(sid, str) else None
        raise _refusal(config, kind, response)


def _refusal(config: HttpSmsConfig, kind: str, response: httpx.Response) -> GatewayUnavailable:
    body = _json(response)
    message = (
        body.get("message") or body.get("detail") or response.text[:200] or response.reason_phrase
    )
    provider_code = body.get("code")
    status = response.status_code
    retryable = status == 429 or status >= 500
    log.warning(
        "SMS refused",
        extra={"kind": kind, "status": status, "provider_code": provider_code, "error": message},
    )
    code_text = f", code {provider_code}" if provider_code is not None else ""
    return GatewayUnavailable(
        "sms_unavailable" if retryable else "sms_rejected",
        f"SMS provider {_host(config.url)} answered {status}{code_text}: {message}",
        permanent=not retryable,
        status=status,
        provider_code=provider_code,
    )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _host(url: str) -> str:
    return urlsplit(url).netloc
