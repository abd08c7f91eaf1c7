"""QR codes: a phone-sized PNG that decodes back to the exact token; a scalable SVG."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from uuid import uuid4

import pytest
from PIL import Image

from eltiketi_adapters.tickets import JoseTicketSigner, TicketKeySet, render_qr_png, render_qr_svg
from eltiketi_core.domain.order import TicketClaims
from tests.unit.adapters.tickets.qr_reading import decode_qr_png


@pytest.fixture(scope="module")
def signer() -> JoseTicketSigner:
    return JoseTicketSigner(TicketKeySet.generate())


@pytest.fixture
def token(signer: JoseTicketSigner) -> str:
    return signer.sign(TicketClaims(ticket_id=uuid4(), event_id=uuid4(), ticket_type_id=uuid4()))


def test_png_decodes_back_to_the_token_which_still_verifies(
    signer: JoseTicketSigner, token: str
) -> None:
    png = render_qr_png(token)

    [decoded] = decode_qr_png(png)

    assert decoded == token
    assert signer.verify(decoded).version == 1


def test_default_png_is_sized_for_a_phone_screen(token: str) -> None:
    image = Image.open(io.BytesIO(render_qr_png(token)))

    assert image.format == "PNG"
    assert image.width == image.height
    assert 300 <= image.width <= 400


def test_png_has_a_white_quiet_zone(token: str) -> None:
    image = Image.open(io.BytesIO(render_qr_png(token, scale=2))).convert("L")

    border = [image.getpixel((x, y)) for x in range(8) for y in range(image.height)]

    assert set(border) == {255}


def test_explicit_scale_is_pixels_per_module(token: str) -> None:
    small = Image.open(io.BytesIO(render_qr_png(token, scale=2)))
    large = Image.open(io.BytesIO(render_qr_png(token, scale=6)))

    assert large.width == 3 * small.width
    assert decode_qr_png(render_qr_png(token, scale=2)) == [token]


def test_bad_input_is_refused(token: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        render_qr_png("")
    with pytest.raises(ValueError, match="scale"):
        render_qr_png(token, scale=0)


def test_svg_is_a_scalable_document_with_an_opaque_background(token: str) -> None:
    svg = render_qr_svg(token)

    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "width" not in root.attrib
    _, _, width, height = (float(v) for v in root.attrib["viewBox"].split())
    assert width == height > 61  # a version-11 symbol plus the quiet zone
    fills = {el.attrib.get("fill") for el in root.iter() if "fill" in el.attrib}
    assert "#fff" in fills


def test_each_code_is_made_once_and_reused_by_every_picture_of_it(
    token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import segno

    made: list[str] = []
    real = segno.make_qr

    def counting(content: str, **options: object) -> object:
        made.append(content)
        return real(content, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(segno, "make_qr", counting)
    png = render_qr_png(token)
    svg = render_qr_svg(token)
    assert render_qr_png(token) is png  # the e-mail again, the API's qr.png
    assert render_qr_svg(token) is svg  # the order page again, the API's qr.svg
    assert render_qr_png(token, scale=2) != png
    assert made == [token]
    other = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert decode_qr_png(render_qr_png(other)) == [other]
    assert made == [token, other]
