"""Signed ticket links: the page an e-mail or SMS opens without logging in.

A link names one order and carries its own expiry and an HMAC of both, so the
server keeps no table of links and any replica sharing ``ELTIKETI_WEB_SECRET``
checks it. It is short enough for an SMS::

    {public_url}/t/<base64url(order id · expiry)>.<base64url(HMAC-SHA256, 16 bytes)>

It is valid until :data:`VALID_AFTER_START` after the event starts (events carry
no end time), and it shows the tickets only while the order is confirmed: a
cancelled or refunded order revokes every link to it without any bookkeeping.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from uuid import UUID

from eltiketi_core.domain.order import OrderStatus
from eltiketi_core.errors import DomainError, NotFound
from eltiketi_core.usecases import OrderView, Ticketing

#: How long after the event's start a link keeps working.
VALID_AFTER_START = timedelta(hours=24)
_PAYLOAD = struct.Struct(">16sQ")
_MAC_BYTES = 16
PATH_PREFIX = "/t/"


class LinkInvalid(Exception):
    """Tampered with, malformed or signed with another key."""


class LinkExpired(Exception):
    """Authentic, but its time has passed."""


@dataclass(frozen=True, slots=True)
class TicketLinks:
    """Makes and checks ticket links with one key (:func:`~eltiketi_app.web.keys.derived_key`)."""

    key: bytes
    public_url: str

    def token(self, order_id: UUID, expires_at: datetime) -> str:
        payload = _PAYLOAD.pack(order_id.bytes, int(expires_at.timestamp()))
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def url(self, order_id: UUID, event_starts_at: datetime) -> str:
        """The link for an order of an event starting at ``event_starts_at``."""
        token = self.token(order_id, event_starts_at + VALID_AFTER_START)
        return f"{self.public_url.rstrip('/')}{PATH_PREFIX}{token}"

    def order_of(self, token: str, now: datetime) -> UUID:
        """The order a token names; :class:`LinkInvalid` or :class:`LinkExpired` otherwise."""
        encoded, dot, mac = token.partition(".")
        if not dot or len(token) > 200:
            raise LinkInvalid(token)
        try:
            payload = _unb64(encoded)
            given = _unb64(mac)
            order_bytes, expires = _PAYLOAD.unpack(payload)
        except (binascii.Error, ValueError, struct.error) as exc:
            raise LinkInvalid(token) from exc
        if not hmac.compare_digest(given, self._mac(payload)):
            raise LinkInvalid(token)
        if now >= datetime.fromtimestamp(expires, UTC):
            raise LinkExpired(token)
        return UUID(bytes=order_bytes)

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self.key, payload, sha256).digest()[:_MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


class LinkGone(DomainError):
    """An authentic link that no longer shows tickets (expired, or its order refunded)."""

    kind = "gone"


async def shared_order(token: str, links: TicketLinks, ticketing: Ticketing) -> OrderView:
    """The order a ticket link opens, for the page and ``GET /v1/shared-tickets/{link}``.

    Raises ``NotFound("link_invalid")`` for a link we did not sign (or an order that is
    gone), :class:`LinkGone` ``link_expired`` after its time and ``link_revoked`` once the
    order is cancelled or refunded.
    """
    try:
        order_id = links.order_of(token, ticketing.clock.now())
        view = await ticketing.orders.shared(order_id)
    except (LinkInvalid, NotFound):
        raise NotFound("link_invalid", "no tickets behind this link") from None
    except LinkExpired:
        raise LinkGone("link_expired", "this ticket link has expired") from None
    if view.order.status is OrderStatus.REFUNDED:
        raise LinkGone("link_revoked", "the order was cancelled or refunded")
    return view
