"""Reading an e-ticket mail the way a mail client does: bodies, inline images, QR codes."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import cast

from tests.unit.adapters.tickets.qr_reading import decode_qr_png


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body((subtype,))
    assert part is not None, f"no text/{subtype} body"
    content = cast(EmailMessage, part).get_content()
    assert isinstance(content, str)
    return content


def inline_pngs(message: EmailMessage) -> dict[str, bytes]:
    """Inline ``image/png`` parts by Content-ID (without angle brackets)."""
    found: dict[str, bytes] = {}
    for part in message.walk():
        if part.get_content_type() != "image/png":
            continue
        assert part.get_content_disposition() == "inline"
        cid = str(part["Content-ID"]).strip().removeprefix("<").removesuffix(">")
        assert isinstance(part, EmailMessage)
        payload = part.get_content()
        assert isinstance(payload, bytes)
        found[cid] = payload
    return found


def ticket_tokens(message: EmailMessage) -> dict[str, str]:
    """Each inline QR decoded back to its token, by Content-ID (exactly one code per image)."""
    tokens: dict[str, str] = {}
    for cid, png in inline_pngs(message).items():
        [token] = decode_qr_png(png)
        tokens[cid] = token
    return tokens
