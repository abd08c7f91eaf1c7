"""QR codes for ticket tokens, sized for a phone screen held under a door scanner.

Choices (see docs/tickets.md):

* **Error correction M** (15 % of the symbol may be damaged). A screen has no dirt or
  creases, so H or Q would only make the code denser; segno still raises the level for
  free when the data fits the same symbol version. A ~257-character token is a
  version-12 symbol (65 × 65 modules).
* **One fixed mask pattern** (:data:`MASK_PATTERN`). Choosing the best of the eight masks
  means building and scoring eight symbols; in segno that was about three quarters of the
  time of a PNG. A signed token is random-looking data, so every mask gives a symbol
  without large blocks or false finder patterns; mask 4 scored, over 68 tokens of 1 to
  265 characters, on average 4 % and at worst 15 % above the best mask by the standard's
  penalty rules (mask 0 at worst 42 %). Decoding with zxing-cpp is tested on many tokens
  of varied lengths, also shrunk to 2 pixels per module.
* **Quiet zone of 4 modules**, as ISO/IEC 18004 requires; scanners miss codes without it.
* **Black on an opaque white background** in both formats, so a dark-mode mail client or
  wallet app cannot turn the light modules black.
* **PNG about 345 px wide** (the scale is chosen per symbol so the image is 300–400 px):
  large enough for any phone camera, small enough for an email. SVG scales by itself.
  The PNG (1-bit greyscale) is written here rather than by segno, whose pure-Python
  writer packs the image pixel by pixel and took about half of the remaining time. Its
  data is deflated at zlib level 1: the rows repeat, so it is ~1.6 KB instead of ~1.4 KB
  at level 6, and 20 % quicker to write.
* **Each code is made once per process** and kept (least recently used out, see
  :data:`CACHE_SIZE`): the symbol, and each PNG and SVG drawn from it. A ticket's code is
  shown again and again — the e-mail, a resent e-mail, the order page, the ticket link's
  page, ``/v1/tickets/{id}/qr.png`` and ``qr.svg`` — and making the symbol is most of the
  cost (segno, pure Python: ~3.3 ms for a version-12 symbol; drawing the PNG ~0.3 ms).
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence
from functools import lru_cache
from typing import Final

import segno

ERROR_LEVEL: Final = "m"
#: The QR mask pattern every code uses (0–7); see the module docstring for why fixed and why 4.
MASK_PATTERN: Final = 4
BORDER_MODULES: Final = 4
#: The PNG aims at this width (pixels); the scale is a whole number of pixels per module.
TARGET_PNG_PIXELS: Final = 360
_DARK: Final = "#000"
_LIGHT: Final = "#fff"
_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
#: zlib level of the PNG data: the rows repeat, so the fastest level is nearly as small.
_PNG_COMPRESSION: Final = 1
#: Codes kept per process, for each of: symbols, PNGs and SVGs (~6, 1.6 and 7 KB each).
CACHE_SIZE: Final = 512


@lru_cache(maxsize=CACHE_SIZE)
def _make(token: str) -> segno.QRCode:
    if not token:
        raise ValueError("cannot render an empty ticket token")
    return segno.make_qr(token, error=ERROR_LEVEL, boost_error=True, mask=MASK_PATTERN)


def _auto_scale(qr: segno.QRCode) -> int:
    """Pixels per module so the PNG is close to :data:`TARGET_PNG_PIXELS` wide."""
    width, _ = qr.symbol_size(border=BORDER_MODULES)
    return max(1, round(TARGET_PNG_PIXELS / width))


@lru_cache(maxsize=CACHE_SIZE)
def render_qr_png(token: str, scale: int | None = None) -> bytes:
    """The QR code of ``token`` as a PNG (1-bit greyscale, white quiet zone).

    Args:
        token: the signed ticket token.
        scale: pixels per module; by default chosen so the image is about 360 px wide.
    """
    qr = _make(token)
    if scale is None:
        scale = _auto_scale(qr)
    if scale < 1:
        raise ValueError("scale must be at least 1 pixel per module")
    return _png(qr.matrix, scale=scale, border=BORDER_MODULES)


@lru_cache(maxsize=CACHE_SIZE)
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


def _png(matrix: Sequence[Sequence[int]], *, scale: int, border: int) -> bytes:
    """A 1-bit greyscale PNG of a module matrix (1 dark, 0 light), ``scale`` px per module.

    Each module row becomes one scanline (bits: 0 black, 1 white) followed by ``scale - 1``
    scanlines with the PNG "Up" filter and zero bytes ("same as the row above"), which
    compress to almost nothing.
    """
    modules = len(matrix[0]) + 2 * border
    pixels = modules * scale
    row_bytes = (pixels + 7) // 8
    padding = "1" * (row_bytes * 8 - pixels)
    light = "1" * scale
    quiet = light * border
    #: a module's pixels by its value in segno's matrix (0x0 light, 0x1 dark)
    pixels_of = (light, "0" * scale).__getitem__

    def scanline(bits: str) -> bytes:
        return b"\x00" + int(bits + padding, 2).to_bytes(row_bytes, "big")

    repeat = (b"\x02" + bytes(row_bytes)) * (scale - 1)
    blank = (scanline(light * modules) + repeat) * border
    rows = [blank]
    for row in matrix:
        rows.append(scanline(quiet + "".join(map(pixels_of, row)) + quiet))
        rows.append(repeat)
    rows.append(blank)
    header = struct.pack(">2I5B", pixels, pixels, 1, 0, 0, 0, 0)
    return b"".join(
        (
            _PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(b"".join(rows), _PNG_COMPRESSION)),
            _chunk(b"IEND", b""),
        )
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
