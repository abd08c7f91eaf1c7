"""Seed steps 15–16 end to end: the e-mail reaches a real SMTP server, its QR codes open the door.

The app is configured by ``ELTIKETI_SMTP_URL`` alone (embedded SQLite otherwise). The test
reads the delivered message like a mail client, decodes each inline QR image with a real
decoder and scans the token at ``POST /v1/check-ins``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.infra.smtp import SmtpServer
from tests.integration.app_tickets.support import (
    decode_qr_png,
    expect,
    inline_ticket_images,
    instant,
    mail_text,
    problem,
    running_app,
    settings_from,
)

pytestmark = pytest.mark.smtp


async def test_emailed_qr_codes_admit_each_ticket_once(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    settings = settings_from(
        tmp_path,
        smtp_url=smtp_server.url,
        mail_from="Tickets <tickets@eltiketi.test>",
        public_url="https://tickets.example.test",
    )
    async with running_app(settings) as app:
        organizer = await app.auth("olga", "organizer")
        buyer = await app.auth("alice", email="alice@example.test")
        event_id, standing = await app.sale(organizer, capacity=10)
        staff = await app.door(event_id)

        order = await app.buy(buyer, event_id, standing, 3, email="alice@example.test")

        (message,) = await smtp_server.wait_for(1, timeout=10)
        assert smtp_server.envelopes[0].rcpt_tos == ("alice@example.test",)
        assert "alice@example.test" in str(message["To"])
        assert "tickets@eltiketi.test" in str(message["From"])
        assert "https://tickets.example.test" in mail_text(message)
        images = inline_ticket_images(message)
        assert len(images) == len(order["tickets"]) == 3
        tokens = [decode_qr_png(image.png) for image in images]
        assert sorted(tokens) == sorted(t["token"] for t in order["tickets"])

        by_token = {t["token"]: t for t in order["tickets"]}
        for token in tokens:
            first = expect(await app.check_in(staff, token, event_id), 200).json()
            assert first["ticket_id"] == by_token[token]["id"]
            assert (first["event_id"], first["holder"]) == (event_id, "alice")
            assert first["ticket_type_name"] == "Standing"
            again = problem(await app.check_in(staff, token, event_id), 409, "already_checked_in")
            assert instant(again["first_checked_in_at"]) == instant(first["checked_in_at"])

        # One confirmed order, one e-mail: nothing else went out meanwhile.
        await app.app.state.runtime.flush()
        assert len(smtp_server.messages) == 1


async def test_resending_the_tickets_is_rate_limited(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    settings = settings_from(tmp_path, smtp_url=smtp_server.url)
    async with running_app(settings) as app:
        organizer = await app.auth("olga", "organizer")
        buyer = await app.auth("alice", email="alice@example.test")
        event_id, standing = await app.sale(organizer)
        order = await app.buy(buyer, event_id, standing, email="alice@example.test")
        await smtp_server.wait_for(1, timeout=10)

        refused = await app.client.post(f"/v1/orders/{order['id']}/resend", headers=buyer)
        body = problem(refused, 429, "resend_rate_limited")
        retry_after = int(refused.headers["Retry-After"])
        assert 1 <= retry_after <= timedelta(minutes=1).total_seconds(), body
        again = await app.client.post(f"/v1/orders/{order['id']}/resend", headers=buyer)
        problem(again, 429, "resend_rate_limited")

        # Refused resends send nothing; another buyer cannot even see the order.
        stranger = await app.auth("mallory", email="mallory@example.test")
        problem(
            await app.client.post(f"/v1/orders/{order['id']}/resend", headers=stranger),
            404,
            "order_not_found",
        )
        await app.app.state.runtime.flush()
        assert len(smtp_server.messages) == 1
