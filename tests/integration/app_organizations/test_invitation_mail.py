"""An owner invites a door member by e-mail; the link in the delivered message lets them in.

The app runs with its real notifiers: embedded (the message is an ``.eml`` file in the data
folder's outbox) and with ``ELTIKETI_SMTP_URL`` (a real SMTP server receives it). The test
reads the link out of the message as a person would, then accepts it through the REST API
signed in with the invited, verified address, and scans a ticket with the new membership.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.infra.smtp import SmtpServer
from tests.integration.app_tickets.support import (
    App,
    Headers,
    expect,
    mail_text,
    problem,
    running_app,
    settings_from,
)

PUBLIC_URL = "https://tickets.example.test"
LINK = re.compile(re.escape(PUBLIC_URL) + r"/invitations/[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+")


async def _invite_and_sell(app: App) -> tuple[Headers, str, str]:
    """An owner's event with one ticket sold, and an invitation of dora as door staff."""
    olga = await app.auth("olga", "organizer")
    event_id, standing = await app.sale(olga)
    order = await app.buy(await app.auth("alice", email="alice@example.test"), event_id, standing)
    organization = expect(await app.client.get(f"/v1/events/{event_id}"), 200).json()[
        "organization_id"
    ]
    invited = await app.client.post(
        f"/v1/organizations/{organization}/invitations",
        json={"email": "dora@example.test", "role": "door"},
        headers=olga,
    )
    expect(invited, 201)
    return olga, event_id, order["tickets"][0]["token"]


async def _accept_from(app: App, message: EmailMessage, event_id: str, ticket: str) -> None:
    assert str(message["To"]).endswith("dora@example.test")
    assert "invited to join" in str(message["Subject"])
    [link] = set(LINK.findall(mail_text(message)))
    html = message.get_body(preferencelist=("html",))
    assert html is not None and f'href="{link}"' in html.get_content()
    token = urlsplit(link).path.rsplit("/", 1)[1]
    dora = await app.auth("dora", email="dora@example.test")
    scan = {"token": ticket, "event_id": event_id}
    problem(await app.client.post("/v1/check-ins", json=scan, headers=dora), 404, "event_not_found")
    mallory = await app.auth("mallory", email="mallory@example.test")
    accept = f"/v1/invitations/{token}/accept"
    problem(await app.client.post(accept, headers=mallory), 403, "invitation_email_mismatch")

    joined = expect(await app.client.post(accept, headers=dora), 200).json()

    assert joined["role"] == "door"
    admitted = expect(await app.client.post("/v1/check-ins", json=scan, headers=dora), 200)
    assert admitted.json()["holder"] == "alice"
    problem(await app.client.post(accept, headers=dora), 409, "invitation_used")


async def test_embedded_the_invitation_is_an_eml_file_whose_link_works(tmp_path: Path) -> None:
    settings = settings_from(tmp_path, public_url=PUBLIC_URL)
    async with running_app(settings) as app:
        _, event_id, ticket = await _invite_and_sell(app)
        outbox = settings.outbox_dir
        found = await _wait_for_file(outbox, "*-invitation-*.eml")
        message = email.message_from_bytes(found.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)

        await _accept_from(app, message, event_id, ticket)


@pytest.mark.smtp
async def test_over_smtp_the_invitation_arrives_and_its_link_works(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    settings = settings_from(
        tmp_path,
        public_url=PUBLIC_URL,
        smtp_url=smtp_server.url,
        mail_from="Tickets <tickets@eltiketi.test>",
    )
    async with running_app(settings) as app:
        _, event_id, ticket = await _invite_and_sell(app)
        # the e-ticket of alice's order and the invitation, in either order
        messages = await smtp_server.wait_for(2, timeout=10)
        [message] = [m for m in messages if "invited" in str(m["Subject"])]
        invitation_envelope = [
            e for e in smtp_server.envelopes if e.rcpt_tos == ("dora@example.test",)
        ]
        assert len(invitation_envelope) == 1

        await _accept_from(app, message, event_id, ticket)


async def _wait_for_file(folder: Path, pattern: str, timeout: float = 10.0) -> Path:  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = sorted(await asyncio.to_thread(lambda: list(folder.glob(pattern))))
        if found:
            return found[-1]
        assert loop.time() < deadline, f"no {pattern} in {folder}"
        await asyncio.sleep(0.05)
