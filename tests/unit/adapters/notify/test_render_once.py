"""One e-ticket mail renders each ticket's QR PNG once, whatever the MIME structure."""

from __future__ import annotations

from pathlib import Path

import pytest

from eltiketi_adapters.notify import EmlFileNotifier
from eltiketi_adapters.notify import mail as mail_module
from eltiketi_adapters.tickets import JoseTicketSigner, TicketKeySet, render_qr_png
from tests.unit.adapters.notify.mail_reading import inline_pngs, parse
from tests.unit.adapters.notify.samples import tickets_notice


@pytest.fixture(scope="module")
def signer() -> JoseTicketSigner:
    return JoseTicketSigner(TicketKeySet.generate())


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens the mail path renders, in order (the real renderer still draws them)."""
    tokens: list[str] = []

    def counting(token: str, scale: int | None = None) -> bytes:
        tokens.append(token)
        return render_qr_png(token, scale)

    monkeypatch.setattr(mail_module, "render_qr_png", counting)
    return tokens


async def test_an_orders_mail_renders_each_valid_tickets_png_exactly_once(
    tmp_path: Path, signer: JoseTicketSigner, rendered: list[str]
) -> None:
    notifier = EmlFileNotifier(
        tmp_path, mail_from="tickets@example.com", public_url="http://127.0.0.1:8000"
    )
    notice = tickets_notice(signer, void=1)
    valid = [t.token for t in notice.tickets][:2]

    await notifier.send_tickets(notice)

    [written] = list(notifier.folder.iterdir())
    pngs = inline_pngs(parse(written.read_bytes()))
    assert rendered == valid
    assert sorted(pngs.values()) == sorted(render_qr_png(token) for token in valid)
