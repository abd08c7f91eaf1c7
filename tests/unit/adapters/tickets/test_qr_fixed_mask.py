"""QR codes with one fixed mask: every code still decodes, also from a poor camera image.

The renderer skips segno's choice among the eight masks (the slow part of a PNG) and writes
the PNG itself. These tests decode many codes of real signed tokens, of every token length
the claims produce, with zxing-cpp, and check the PNG pixel for pixel against segno's own
writer for the same symbol.
"""

from __future__ import annotations

import io
import random
from uuid import UUID

import pytest
import segno
from PIL import Image, ImageFilter

from eltiketi_adapters.tickets import JoseTicketSigner, TicketKeySet, render_qr_png, render_qr_svg
from eltiketi_adapters.tickets.qr import BORDER_MODULES, ERROR_LEVEL, MASK_PATTERN
from eltiketi_core.domain.order import TicketClaims
from tests.unit.adapters.tickets.qr_reading import decode_qr_png

#: Versions from 1 to 2**53 make tokens of every length the claims allow (257–277 chars).
_VERSIONS = (1, 9, 10, 99, 1_000, 123_456, 10**9, 2**31, 2**53)


@pytest.fixture(scope="module")
def signer() -> JoseTicketSigner:
    return JoseTicketSigner(TicketKeySet.generate())


@pytest.fixture(scope="module")
def tokens(signer: JoseTicketSigner) -> list[str]:
    rng = random.Random(8)
    return [
        signer.sign(
            TicketClaims(
                ticket_id=UUID(int=rng.getrandbits(128)),
                event_id=UUID(int=rng.getrandbits(128)),
                ticket_type_id=UUID(int=rng.getrandbits(128)),
                version=_VERSIONS[n % len(_VERSIONS)],
            )
        )
        for n in range(72)
    ]


def _image(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("L")


def _png_of(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_tokens_cover_several_lengths(tokens: list[str]) -> None:
    assert len({len(token) for token in tokens}) >= 5


def test_every_fixed_mask_code_decodes_to_its_token_which_verifies(
    signer: JoseTicketSigner, tokens: list[str]
) -> None:
    decoded = [decode_qr_png(render_qr_png(token)) for token in tokens]

    assert decoded == [[token] for token in tokens]
    assert {signer.verify(token).version for [token] in decoded} == set(_VERSIONS)


def test_codes_decode_from_a_blurred_tilted_low_resolution_photo(tokens: list[str]) -> None:
    """A phone camera under a door scanner: out of focus, at an angle, few pixels."""
    unread = []
    for token in tokens:
        photo = (
            _image(render_qr_png(token))
            .rotate(17, expand=True, fillcolor=255, resample=Image.Resampling.BICUBIC)
            .filter(ImageFilter.GaussianBlur(1.5))
            .resize((200, 200), Image.Resampling.BILINEAR)
        )
        if decode_qr_png(_png_of(photo)) != [token]:
            unread.append(token)

    assert unread == []


@pytest.mark.parametrize("length", [1, 17, 64, 150, 251, 300, 420, 600])
def test_other_lengths_and_symbol_versions_decode(length: int) -> None:
    rng = random.Random(length)
    text = "".join(
        rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_.") for _ in range(length)
    )

    assert decode_qr_png(render_qr_png(text)) == [text]
    assert decode_qr_png(render_qr_png(text, scale=2)) == [text]


def test_every_code_uses_the_one_fixed_mask_not_segnos_choice(tokens: list[str]) -> None:
    chosen_by_segno = {segno.make_qr(t, error=ERROR_LEVEL, boost_error=True).mask for t in tokens}
    fixed = {
        segno.make_qr(t, error=ERROR_LEVEL, boost_error=True, mask=MASK_PATTERN).mask
        for t in tokens
    }

    assert MASK_PATTERN in range(8)
    assert fixed == {MASK_PATTERN}
    assert len(chosen_by_segno) > 1  # so the pixel comparison below tells the two apart


@pytest.mark.parametrize("scale", [1, 2, 5, 8])
def test_png_is_pixel_for_pixel_segnos_rendering_of_the_fixed_mask_symbol(
    tokens: list[str], scale: int
) -> None:
    for token in tokens[:12]:
        symbol = segno.make_qr(token, error=ERROR_LEVEL, boost_error=True, mask=MASK_PATTERN)
        reference = io.BytesIO()
        symbol.save(reference, kind="png", scale=scale, border=BORDER_MODULES)

        ours = _image(render_qr_png(token, scale=scale))

        assert ours.size == _image(reference.getvalue()).size
        assert ours.tobytes() == _image(reference.getvalue()).tobytes()


def test_png_and_svg_show_the_same_symbol(tokens: list[str]) -> None:
    token = tokens[0]
    symbol = segno.make_qr(token, error=ERROR_LEVEL, boost_error=True, mask=MASK_PATTERN)
    reference = io.BytesIO()
    symbol.save(
        reference,
        kind="svg",
        border=BORDER_MODULES,
        dark="#000",
        light="#fff",
        omitsize=True,
        title="Ticket QR code",
    )

    assert render_qr_svg(token) == reference.getvalue()
    assert _image(render_qr_png(token, scale=1)).size == symbol.symbol_size(border=BORDER_MODULES)
