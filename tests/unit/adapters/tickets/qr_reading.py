"""Reading QR codes back from images, as a phone-side scanner would (zxing-cpp + Pillow)."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image


def decode_qr_png(png: bytes) -> list[str]:
    """Every QR code's text in a PNG image."""
    image = Image.open(io.BytesIO(png))
    return [
        r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode
    ]
