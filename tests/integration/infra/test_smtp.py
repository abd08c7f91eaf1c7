"""Smoke tests: the aiosmtpd fixtures receive what aiosmtplib sends."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib
import pytest

from tests.infra.fixtures import SmtpServerFactory
from tests.infra.smtp import SmtpServer

pytestmark = pytest.mark.smtp

PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _ticket_mail(subject: str = "Your tickets") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "tickets@eltiketi.test"
    message["To"] = "alice@eltiketi.test"
    message["Subject"] = subject
    message.set_content("Your ticket is attached.")
    message.add_alternative('<p>Your ticket:</p><img src="cid:qr">', subtype="html")
    html_part = message.get_body(preferencelist=("html",))
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(PNG_1X1, "image", "png", cid="<qr>", disposition="inline")
    return message


async def test_multipart_message_round_trips(smtp_server: SmtpServer) -> None:
    await aiosmtplib.send(_ticket_mail(), hostname=smtp_server.host, port=smtp_server.port)

    [received] = await smtp_server.wait_for(1)
    assert received["Subject"] == "Your tickets"
    assert smtp_server.envelopes[0].rcpt_tos == ("alice@eltiketi.test",)
    text = received.get_body(preferencelist=("plain",))
    assert text is not None
    assert "attached" in text.get_content()
    images = [part for part in received.walk() if part.get_content_type() == "image/png"]
    assert [image.get_content() for image in images] == [PNG_1X1]


async def test_authenticating_server_accepts_only_its_credentials(
    smtp_server_factory: SmtpServerFactory,
) -> None:
    server = smtp_server_factory(username="mailer", password="s3cret")
    with pytest.raises(aiosmtplib.SMTPAuthenticationError):
        await aiosmtplib.send(
            _ticket_mail(), hostname=server.host, port=server.port, username="mailer", password="x"
        )
    await aiosmtplib.send(
        _ticket_mail(), hostname=server.host, port=server.port, username="mailer", password="s3cret"
    )
    assert len(await server.wait_for(1)) == 1


async def test_server_down_at_first_up_later(smtp_server_factory: SmtpServerFactory) -> None:
    server = smtp_server_factory(start=False)
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await aiosmtplib.send(_ticket_mail("first try"), hostname=server.host, port=server.port)

    server.start()
    await aiosmtplib.send(_ticket_mail("second try"), hostname=server.host, port=server.port)

    [received] = await server.wait_for(1)
    assert received["Subject"] == "second try"
