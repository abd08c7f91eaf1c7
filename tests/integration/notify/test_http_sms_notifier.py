"""HttpSmsNotifier against a local HTTP server standing in for Twilio's Messages API."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import pytest
from aiohttp import web

from eltiketi_adapters.notify import HttpSmsConfig, HttpSmsNotifier
from eltiketi_adapters.notify.http_sms import idempotency_key_for
from eltiketi_adapters.tickets import JoseTicketSigner, TicketKeySet
from eltiketi_core.domain.booking import Contact
from eltiketi_core.errors import GatewayUnavailable
from eltiketi_core.ports.notifications import Notifier
from tests.infra.ports import LOOPBACK, free_port
from tests.unit.adapters.notify.samples import (
    payment_problem_notice,
    refund_notice,
    tickets_notice,
)

ACCOUNT = "AC0123456789abcdef0123456789abcdef"
TOKEN = "auth-token-123"
SENDER = "+15005550006"
PUBLIC_URL = "https://tickets.eltiketi.test"


@dataclass
class Recorded:
    path: str
    content_type: str
    authorization: str
    form: dict[str, str]
    idempotency: tuple[str | None, str | None] = (None, None)


@dataclass
class FakeTwilio:
    """Records every request; answers 201 with a message sid unless told otherwise."""

    url: str
    requests: list[Recorded] = field(default_factory=list)
    status: int = 201
    reply: dict[str, Any] | str | None = None
    delay: float = 0.0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        self.requests.append(
            Recorded(
                path=request.path,
                content_type=request.content_type,
                authorization=request.headers.get("Authorization", ""),
                form={k: str(v) for k, v in form.items()},
                idempotency=(
                    request.headers.get("Idempotency-Key"),
                    request.headers.get("I-Twilio-Idempotency-Token"),
                ),
            )
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        if isinstance(self.reply, str):
            return web.Response(status=self.status, text=self.reply)
        reply = self.reply or {"sid": f"SM{len(self.requests):032d}", "status": "queued"}
        return web.json_response(reply, status=self.status)


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    port = free_port()
    fake = FakeTwilio(url=f"http://{LOOPBACK}:{port}")
    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, LOOPBACK, port).start()
    try:
        yield fake
    finally:
        await runner.cleanup()


@pytest.fixture(scope="module")
def signer() -> JoseTicketSigner:
    return JoseTicketSigner(TicketKeySet.generate())


@pytest.fixture
async def notifier(twilio: FakeTwilio) -> AsyncIterator[HttpSmsNotifier]:
    config = HttpSmsConfig.from_settings(twilio.url, ACCOUNT, TOKEN, SENDER, timeout=2)
    async with HttpSmsNotifier(config, public_url=PUBLIC_URL) as sms:
        yield sms


async def test_ticket_text_is_posted_in_twilios_shape(
    notifier: HttpSmsNotifier, twilio: FakeTwilio, signer: JoseTicketSigner
) -> None:
    port: Notifier = notifier
    notice = tickets_notice(signer, contact=Contact(phone="+49 151 1234 5678"))

    await port.send_tickets(notice)

    [request] = twilio.requests
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert request.content_type == "application/x-www-form-urlencoded"
    expected = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    assert request.authorization == f"Basic {expected}"
    assert set(request.form) == {"To", "From", "Body"}
    assert request.form["To"] == "+4915112345678"
    assert request.form["From"] == SENDER
    assert request.form["Body"].endswith(f"{PUBLIC_URL}/orders/{notice.order.id}")
    assert "3 tickets for Nachtkonzert" in request.form["Body"]


async def test_each_text_carries_the_idempotency_key_of_its_message(
    notifier: HttpSmsNotifier, twilio: FakeTwilio, signer: JoseTicketSigner
) -> None:
    notice = tickets_notice(signer, contact=Contact(phone="+4915112345678"))
    key = f"tickets:{notice.order.id}/sms"

    await notifier.send_tickets(msgspec.structs.replace(notice, message_key=key))
    await notifier.send_tickets(msgspec.structs.replace(notice, message_key=key))  # a re-send
    await notifier.send_tickets(msgspec.structs.replace(notice, message_key=f"{key}/1"))
    await notifier.send_tickets(notice)  # no key: no header

    first, again, resent, plain = (r.idempotency for r in twilio.requests)
    assert first == again == (idempotency_key_for(key),) * 2
    assert resent == (idempotency_key_for(f"{key}/1"),) * 2 != first
    assert re.fullmatch(r"[A-Za-z0-9_:-]{1,255}", first[0] or "")  # every provider's key syntax
    assert plain == (None, None)


async def test_send_returns_the_providers_message_id(
    notifier: HttpSmsNotifier, twilio: FakeTwilio
) -> None:
    sid = await notifier.send(Contact(phone="+4915112345678"), "hello")

    assert sid == "SM" + "1".zfill(32)


async def test_a_messaging_service_replaces_from(twilio: FakeTwilio) -> None:
    service = "MG" + "a" * 32
    config = HttpSmsConfig(url=twilio.url, user=ACCOUNT, token=TOKEN, sender=service)

    async with HttpSmsNotifier(config, public_url=PUBLIC_URL) as sms:
        await sms.send_refund(refund_notice())

    [request] = twilio.requests
    assert request.form["MessagingServiceSid"] == service
    assert "From" not in request.form
    assert "we are refunding €138.00" in request.form["Body"]


async def test_a_400_with_twilios_error_is_a_clear_permanent_refusal(
    notifier: HttpSmsNotifier, twilio: FakeTwilio
) -> None:
    twilio.status = 400
    twilio.reply = {
        "code": 21211,
        "message": "The 'To' number +4915112345678 is not a valid phone number.",
        "more_info": "https://www.twilio.com/docs/errors/21211",
        "status": 400,
    }

    with pytest.raises(GatewayUnavailable) as caught:
        await notifier.send_payment_problem(payment_problem_notice())

    error = caught.value
    assert error.code == "sms_rejected"
    assert "is not a valid phone number" in error.detail
    assert "21211" in error.detail
    assert error.extra == {"permanent": True, "status": 400, "provider_code": 21211}


async def test_bad_credentials_are_a_refusal_naming_the_problem(
    notifier: HttpSmsNotifier, twilio: FakeTwilio
) -> None:
    twilio.status = 401
    twilio.reply = {"code": 20003, "message": "Authenticate", "status": 401}

    with pytest.raises(GatewayUnavailable) as caught:
        await notifier.send_refund(refund_notice())

    assert caught.value.code == "sms_rejected"
    assert "401" in caught.value.detail
    assert "Authenticate" in caught.value.detail
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_overload_and_server_errors_are_retryable(
    notifier: HttpSmsNotifier, twilio: FakeTwilio, status: int
) -> None:
    twilio.status = status
    twilio.reply = "upstream trouble"

    with pytest.raises(GatewayUnavailable) as caught:
        await notifier.send_refund(refund_notice())

    assert caught.value.code == "sms_unavailable"
    assert caught.value.extra["permanent"] is False
    assert "upstream trouble" in caught.value.detail


async def test_provider_down_is_unavailable() -> None:
    config = HttpSmsConfig(
        url=f"http://{LOOPBACK}:{free_port()}", user=ACCOUNT, token=TOKEN, sender=SENDER
    )

    async with HttpSmsNotifier(config, public_url=PUBLIC_URL) as sms:
        with pytest.raises(GatewayUnavailable) as caught:
            await sms.send_refund(refund_notice())

    assert caught.value.code == "sms_unavailable"


async def test_slow_provider_times_out_as_unavailable(twilio: FakeTwilio) -> None:
    twilio.delay = 1.0
    config = HttpSmsConfig(url=twilio.url, user=ACCOUNT, token=TOKEN, sender=SENDER, timeout=0.2)

    async with HttpSmsNotifier(config, public_url=PUBLIC_URL) as sms:
        with pytest.raises(GatewayUnavailable) as caught:
            await sms.send_refund(refund_notice())

    assert caught.value.code == "sms_unavailable"


async def test_a_shared_client_is_left_open(twilio: FakeTwilio) -> None:
    config = HttpSmsConfig(url=twilio.url, user=ACCOUNT, token=TOKEN, sender=SENDER)

    async with httpx.AsyncClient() as client:
        async with HttpSmsNotifier(config, public_url=PUBLIC_URL, client=client) as sms:
            await sms.send_refund(refund_notice())

        assert not client.is_closed
        await HttpSmsNotifier(config, public_url=PUBLIC_URL, client=client).send_refund(
            refund_notice()
        )

    assert len(twilio.requests) == 2
