"""Signed links: ticket pages an e-mail or SMS opens without logging in, and invitations.

A link names one order and carries its own expiry and an HMAC of both, so the
server keeps no table of links and any replica sharing ``ELTIKETI_WEB_SECRET``
checks it. It is short enough for an SMS::

    {public_url}/t/<base64url(order id · expiry)>.<base64url(HMAC-SHA256, 16 bytes)>

It is valid until :data:`VALID_AFTER_START` after the event starts (events carry
no end time), and it shows the tickets only while the order is confirmed: a
cancelled or refunded order revokes every link to it without any bookkeeping.

Invitation links (:class:`InvitationLinks`) are made the same way, with a key of
their own, and name an invitation until it expires::

    {public_url}/invitations/<base64url(invitation id · expiry)>.<base64url(HMAC)>

The token is what ``POST /v1/invitations/{token}/accept`` takes; the database still
decides (pending, not revoked, the invited address).
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
from eltiketi_core.errors import DomainError, InvitationGone, NotFound
from eltiketi_core.ports.clock import Clock
from eltiketi_core.usecases import OrderView
from eltiketi_core.usecases.orders import Orders

#: How long after the event's start a link keeps working.
VALID_AFTER_START = timedelta(hours=24)
_PAYLOAD = struct.Struct(">16sQ")
_MAC_BYTES = 16
PATH_PREFIX = "/t/"
INVITATION_PATH_PREFIX = "/invitations/"


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
        return _sign(self.key, order_id, expires_at)

    def url(self, order_id: UUID, event_starts_at: datetime) -> str:
        """The link for an order of an event starting at ``event_starts_at``."""
        token = self.token(order_id, event_starts_at + VALID_AFTER_START)
        return f"{self.public_url.rstrip('/')}{PATH_PREFIX}{token}"

    def order_of(self, token: str, now: datetime) -> UUID:
        """The order a token names; :class:`LinkInvalid` or :class:`LinkExpired` otherwise."""
        return _read(self.key, token, now)


@dataclass(frozen=True, slots=True)
class InvitationLinks:
    """Makes and checks invitation links (key: ``derived_key(secret, "invitation-links")``)."""

    key: bytes
    public_url: str

    def token(self, invitation_id: UUID, expires_at: datetime) -> str:
        return _sign(self.key, invitation_id, expires_at)

    def url(self, invitation_id: UUID, expires_at: datetime) -> str:
        """The link mailed to the invited address; it works until ``expires_at``."""
        token = self.token(invitation_id, expires_at)
        return f"{self.public_url.rstrip('/')}{INVITATION_PATH_PREFIX}{token}"

    def invitation_of(self, token: str, now: datetime) -> UUID:
        """The invitation a token names; :class:`LinkInvalid` or :class:`LinkExpired`."""
        return _read(self.key, token, now)


def _sign(key: bytes, subject_id: UUID, expires_at: datetime) -> str:
    payload = _PAYLOAD.pack(subject_id.bytes, int(expires_at.timestamp()))
    return f"{_b64(payload)}.{_b64(_mac(key, payload))}"


def _read(key: bytes, token: str, now: datetime) -> UUID:
    encoded, dot, mac = token.partition(".")
    if not dot or len(token) > 200:
        raise LinkInvalid(token)
    try:
        payload = _unb64(encoded)
        given = _unb64(mac)
        subject_bytes, expires = _PAYLOAD.unpack(payload)
    except (binascii.Error, ValueError, struct.error) as exc:
        raise LinkInvalid(token) from exc
    if not hmac.compare_digest(given, _mac(key, payload)):
        raise LinkInvalid(token)
    if now >= datetime.fromtimestamp(expires, UTC):
        raise LinkExpired(token)
    return UUID(bytes=subject_bytes)


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, sha256).digest()[:_MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


class LinkGone(DomainError):
    """An authentic link that no longer shows tickets (expired, or its order refunded)."""

    kind = "gone"


async def shared_order(token: str, links: TicketLinks, clock: Clock, orders: Orders) -> OrderView:
    """The order a ticket link opens, for the page and ``GET /v1/shared-tickets/{link}``.

    Raises ``NotFound("link_invalid")`` for a link we did not sign (or an order that is
    gone), :class:`LinkGone` ``link_expired`` after its time and ``link_revoked`` once the
    order is cancelled or refunded.
    """
    try:
        order_id = links.order_of(token, clock.now())
        view = await orders.shared(order_id)
    except (LinkInvalid, NotFound):
        raise NotFound("link_invalid", "no tickets behind this link") from None
    except LinkExpired:
        raise LinkGone("link_expired", "this ticket link has expired") from None
    if view.order.status is OrderStatus.REFUNDED:
        raise LinkGone("link_revoked", "the order was cancelled or refunded")
    return view


def invitation_id_of(token: str, links: InvitationLinks, now: datetime) -> UUID:
    """The invitation an invitation link names, for the API and the acceptance page alike.

    Raises ``NotFound("invitation_not_found")`` for a link we did not sign (or changed)
    and ``InvitationGone("invitation_expired")`` once the link's own time is up; whether
    the invitation can still be accepted is the database's to say.
    """
    try:
        return links.invitation_of(token, now)
    except LinkInvalid as exc:
        raise NotFound("invitation_not_found", "no such invitation") from exc
    except LinkExpired as exc:
        raise InvitationGone(
            "invitation_expired", "this invitation has expired; ask for a new one"
        ) from exc
