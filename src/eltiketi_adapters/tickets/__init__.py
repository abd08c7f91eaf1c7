"""Ticket signing (Ed25519 JWS via joserfc), the key set behind it, and QR rendering (segno).

Install with the ``notify`` extra. The app builds one :class:`TicketKeySet` at start-up
(from ``ELTIKETI_TICKET_KEYS`` in production, from the data folder when embedded) and one
:class:`JoseTicketSigner` around it, shared by API replicas and workers alike.
"""

from eltiketi_adapters.tickets.keys import (
    KEY_FILE_NAME,
    TicketKeyError,
    TicketKeySet,
    generate_key_set,
    rotate_key_file,
    rotate_key_set,
)
from eltiketi_adapters.tickets.qr import render_qr_png, render_qr_svg
from eltiketi_adapters.tickets.signer import JoseTicketSigner

__all__ = [
    "KEY_FILE_NAME",
    "JoseTicketSigner",
    "TicketKeyError",
    "TicketKeySet",
    "generate_key_set",
    "render_qr_png",
    "render_qr_svg",
    "rotate_key_file",
    "rotate_key_set",
]
