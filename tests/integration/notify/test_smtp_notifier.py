"""SmtpNotifier against a real SMTP server (aiosmtpd): the e-ticket arrives and its QR scans."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from eltiketi_adapters.notify import SmtpConfig, SmtpNotifier
from eltiketi_adapters.tickets import JoseTicketSigner, TicketKeySet
from eltiketi_core.errors import GatewayUnavailable
from eltiketi_core.ports.notifications import Notifier
from tests.infra.fixtures import SmtpServerFactory
from tests.infra.ports import LOOPBACK, free_port
from tests.infra.smtp import SmtpServer
from tests.unit.adapters.notify.mail_reading import body, inline_pngs, ticket_tokens
from tests.unit.adapters.notify.samples import (
    payment_problem_notice,
    refund_notice,
    tickets_notice,
)

pytestmark = pytest.mark.smtp

MAIL_FROM = "elTiketi <tickets@eltiketi.test>"
PUBLIC_URL = "https://tickets.eltiketi.test"
#: Not a speed assertion: a guard so a hang fails the test instead of blocking the suite.
HANG_GUARD = 10


@pytest.fixture(scope="module")
def signer() -> JoseTicketSigner:
    return JoseTicketSigner(TicketKeySet.generate())


def _notifier(url: str) -> SmtpNotifier:
    return SmtpNotifier(SmtpConfig.from_url(url), mail_from=MAIL_FROM, public_url=PUBLIC_URL)


async def test_ticket_mail_arrives_with_one_scannable_qr_per_ticket(
    smtp_server: SmtpServer, signer: JoseTicketSigner
) -> None:
    notifier: Notifier = _notifier(smtp_server.url)
    notice = tickets_notice(signer)

    await notifier.send_tickets(notice)

    [received] = await smtp_server.wait_for(1)
    assert smtp_server.envelopes[0].mail_from == "tickets@eltiketi.test"
    assert smtp_server.envelopes[0].rcpt_tos == ("ada@example.org",)
    assert received["Subject"] == "Your tickets for Nachtkonzert – 14. März 2026"
    pngs = inline_pngs(received)
    assert len(pngs) == len(notice.tickets) == 3
    tokens = ticket_tokens(received)
    assert sorted(tokens.values()) == sorted(t.token for t in notice.tickets)
    scanned = {signer.verify(token).ticket_id for token in tokens.values()}
    assert scanned == {t.id for t in notice.tickets}
    assert "Samstag, 14. März 2026, 19:30 CET" in body(received, "plain")


async def test_server_requiring_auth_gets_the_credentials_from_the_url(
    smtp_server_factory: SmtpServerFactory, signer: JoseTicketSigner
) -> None:
    server = smtp_server_factory(username="mailer", password="s3cr@t")
    notifier = _notifier(f"smtp://mailer:s3cr%40t@{server.host}:{server.port}")
    notice = tickets_notice(signer)

    await notifier.send_tickets(notice)

    [received] = await server.wait_for(1)
    assert sorted(ticket_tokens(received).values()) == sorted(t.token for t in notice.tickets)


async def test_wrong_password_is_a_permanent_rejection(
    smtp_server_factory: SmtpServerFactory,
) -> None:
    server = smtp_server_factory(username="mailer", password="s3cret")
    notifier = _notifier(f"smtp://mailer:wrong@{server.host}:{server.port}")

    with pytest.raises(GatewayUnavailable) as caught:
        await notifier.send_refund(refund_notice())

    assert caught.value.code == "smtp_rejected"
    assert caught.value.extra["permanent"] is True
    assert caught.value.extra["smtp_code"] == 535
    assert "wrong" not in str(caught.value)
    assert server.messages == []


async def test_missing_credentials_are_refused_by_an_auth_server(
    smtp_server_factory: SmtpServerFactory,
) -> None:
    server = smtp_server_factory(username="mailer", password="s3cret")

    with pytest.raises(GatewayUnavailable) as caught:
        await _notifier(server.url).send_refund(refund_notice())

    assert caught.value.code == "smtp_rejected"
    assert server.messages == []


async def test_server_down_fails_fast_and_a_later_send_gets_through(
    smtp_server_factory: SmtpServerFactory, signer: JoseTicketSigner
) -> None:
    server = smtp_server_factory(start=False)
    notifier = _notifier(f"{server.url}?timeout=1")
    notice = tickets_notice(signer)

    with pytest.raises(GatewayUnavailable) as caught:
        async with asyncio.timeout(HANG_GUARD):
            await notifier.send_tickets(notice)
    assert caught.value.code == "smtp_unavailable"
    assert caught.value.extra["permanent"] is False

    server.start()
    await notifier.send_tickets(notice)

    [received] = await server.wait_for(1)
    assert len(ticket_tokens(received)) == 3


@contextlib.asynccontextmanager
async def _silent_server() -> AsyncIterator[int]:
    """Accepts TCP connections and never says a word: a hung mail server."""
    connections: list[asyncio.StreamWriter] = []

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)

    port = free_port()
    server = await asyncio.start_server(accept, LOOPBACK, port)
    try:
        yield port
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_hung_server_times_out_as_unavailable() -> None:
    async with _silent_server() as port:
        notifier = _notifier(f"smtp://{LOOPBACK}:{port}?timeout=0.3")

        with pytest.raises(GatewayUnavailable) as caught:
            async with asyncio.timeout(HANG_GUARD):
                await notifier.send_payment_problem(payment_problem_notice())

    assert caught.value.code == "smtp_unavailable"


async def test_starttls_required_but_not_offered_is_not_downgraded(
    smtp_server: SmtpServer,
) -> None:
    notifier = _notifier(f"{smtp_server.url}?starttls=true")

    with pytest.raises(GatewayUnavailable) as caught:
        await notifier.send_refund(refund_notice())

    assert caught.value.code == "smtp_rejected"
    assert smtp_server.messages == []


async def test_refund_and_payment_problem_mails_arrive(smtp_server: SmtpServer) -> None:
    notifier = _notifier(smtp_server.url)

    await notifier.send_refund(refund_notice())
    await notifier.send_payment_problem(payment_problem_notice())

    refund, problem = await smtp_server.wait_for(2)
    assert refund["Subject"] == "Your refund of €138.00 for Nachtkonzert"
    assert problem["Subject"] == "Your payment for Nachtkonzert did not go through"
    assert "cancelled by the organiser" in body(refund, "html")
