"""The web app's secret: one key, from ``ELTIKETI_WEB_SECRET`` or generated in the data folder.

Three things are signed with it, each with a key of its own derived by HMAC from a
label, so a value signed for one purpose never verifies for another: the CSRF
tokens of forms, the signed ticket links sent by e-mail and SMS, and the links of
invitations to an organization. In embedded
mode the secret is generated once (``<data dir>/web-secret``, mode 0600) so links
and forms survive a restart; production must configure it, shared by replicas.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from eltiketi_app.settings import Settings
from eltiketi_app.web.links import InvitationLinks, TicketLinks

SECRET_FILE = "web-secret"


def web_secret(settings: Settings) -> bytes:
    """The configured secret, else the data folder's (created on first use)."""
    if settings.web_secret is not None:
        return settings.web_secret.encode()
    return _load_or_create(settings.data_dir / SECRET_FILE)


def derived_key(secret: bytes, purpose: str) -> bytes:
    """A key for one ``purpose`` (``"csrf"``, ``"ticket-links"``); never the secret itself."""
    return hmac.new(secret, b"eltiketi-web:" + purpose.encode(), hashlib.sha256).digest()


def _load_or_create(path: Path) -> bytes:
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of this installation wrote it first
        return path.read_bytes().strip()
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(secrets.token_urlsafe(48))
    return path.read_bytes().strip()


def ticket_links(settings: Settings) -> TicketLinks:
    """The signed ticket links of this installation (the notifiers and the ticket page)."""
    return TicketLinks(
        key=derived_key(web_secret(settings), "ticket-links"),
        public_url=settings.effective_public_url,
    )


def invitation_links(settings: Settings) -> InvitationLinks:
    """The signed invitation links of this installation (the mails and the accept route)."""
    return InvitationLinks(
        key=derived_key(web_secret(settings), "invitation-links"),
        public_url=settings.effective_public_url,
    )
