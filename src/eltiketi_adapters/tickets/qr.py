"""QR codes for ticket tokens, sized for a phone screen held under a door scanner.

Choices (see docs/tickets.md):

* **Error correction M** (15 % of the symbol may be damaged). A screen has no dirt or
  creases, so H or Q would only make the code denser; segno still raises the level for
  free when the data fits the same symbol version. A ~257-character token is a
  version-11 symbol (61 × 61 modules).
* **Quiet zone of 4 modules**, as ISO/IEC 18004 requires; scanners miss codes without it.
* **Black on an opaque white background** in both formats, so a dark-mode mail client or
  wallet app cannot turn the light modules black.
* **PNG about 345 px wide** (the scale is chosen per symbol so the image is 300–400 px):
  large enough for any phone camera, small enough for an email. SVG scales by itself.
"""

from __future__ import annotations

import io
from typing import Final

import segno

ERROR_LEVEL: Final = "m"
BORDER_MODULES: Final = 4
#: The PNG aims at this width (pixels); the scale is a whole number of pixels per module.
TARGET_PNG_PIXELS: Final = 360
_DARK: Final = "#000"
_LIGHT: Final = "#fff"


def _make(token: str) -> segno.QRCode:
    if not token:
        raise ValueError("cannot render an empty ticket token")
    return segno.make_qr(token, error=ERROR_LEVEL, boost_error=True)


def _auto_scale(qr: segno.QRCode) -> int:
    """Pixels per module so the PNG is close to :data:`TARGET_PNG_PIXELS` wide."""
    width, _ = qr.symbol_size(border=BORDER_MODULES)
    return max(1, round(TARGET_PNG_PIXELS / width))


def render_qr_png(token: str, scale: int | None = None) -> bytes:
    """The QR code of ``token`` as a PNG (grayscale, white quiet zone).

    Args:
        token: the signed ticket token.
        scale: pixels per module; by default chosen so the image is about 360 px wide.
    """
    qr = _make(token)
    if scale is None:
        scale = _auto_scale(qr)
    if scale < 1:
        raise ValueError("scale must be at least 1 pixel per module")
    out = io.BytesIO()
    qr.save(out, kind="png", scale=scale, border=BORDER_MODULES, dark=_DARK, light=_LIGHT)
    return out.getvalue()


def render_qr_svg(token: str) -> bytes:
    """The QR code of ``token`` as a standalone SVG document (UTF-8).

    It has a ``viewBox`` and no fixed size, so it fills whatever box shows it; one module
    is one user unit.
    """
    out = io.BytesIO()
    _make(token).save(
        out,
        kind="svg",
        border=BORDER_MODULES,
        dark=_DARK,
        light=_LIGHT,
        omitsize=True,
        title="Ticket QR code",
    )
    return out.getvalue()
