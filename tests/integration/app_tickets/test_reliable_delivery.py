"""Reliable e-ticket delivery through the app: SMTP outages are retried, duplicates are not sent.

``SMTP down at first, up later`` runs the app's own background loops with the default
policy (first retry after 5 s; ``ELTIKETI_*`` has no backoff setting yet), so it waits for
real time. The duplicate test stops the loops (``background=False``) to take the very
``OrderCreated`` the relay would publish out of the outbox and deliver it again.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import msgspec
import pytest

from eltiketi_adapters.memory import InProcessBus
from eltiketi_app.background.runner import Runner
from eltiketi_app.ioc.types import Persistence
from eltiketi_core.domain.events import OrderCreated
from eltiketi_core.ports.stores import NotificationRecord, NotificationStatus
from eltiketi_core.usecases import Ticketing
from tests.infra.fixtures import SmtpServerFactory
from tests.integration.app_tickets.support import (
    App,
    decode_qr_png,
    inline_ticket_images,
    running_app,
    settings_from,
)

pytestmark = pytest.mark.smtp

EMAIL = "email"


async def _email_record(app: App, order_id: str) -> NotificationRecord | None:
    persistence: Persistence = await app.get(Persistence)
    async with persistence.uow() as uow:
        record: NotificationRecord | None = await uow.notifications.get(
            f"tickets:{order_id}", EMAIL
        )
        return record


async def _wait_for_record(
    app: App, order_id: str, status: NotificationStatus, within: float = 10
) -> NotificationRecord:
    async with asyncio.timeout(within):
        while True:
            record = await _email_record(app, order_id)
            if record is not None and record.status is status:
                return record
            await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_mail_down_at_first_arrives_exactly_once_after_retries(
    tmp_path: Path, smtp_server_factory: SmtpServerFactory
) -> None:
    server = smtp_server_factory(start=False)  # the port is reserved, nothing listens yet
    async with running_app(settings_from(tmp_path, smtp_url=f"{server.url}?timeout=2")) as app:
        organizer = await app.auth("olga", "organizer")
        buyer = await app.auth("alice", email="alice@example.test")
        event_id, standing = await app.sale(organizer)
        order = await app.buy(buyer, event_id, standing, 2, email="alice@example.test")

        failed = await _wait_for_record(app, order["id"], NotificationStatus.FAILED)
        assert failed.attempts == 1
        assert failed.error
        assert failed.next_attempt_at is not None

        server.start()
        # The app's notification-retry loop picks the record up once its backoff is over.
        (message,) = await server.wait_for(1, timeout=20)
        sent = await _wait_for_record(app, order["id"], NotificationStatus.SENT)
        assert sent.attempts == 2
        assert sent.sent_at is not None
        assert sent.id == failed.id
        tokens = sorted(decode_qr_png(i.png) for i in inline_ticket_images(message))
        assert tokens == sorted(t["token"] for t in order["tickets"])

        # Exactly once: more retry passes, relay runs and a moment of the loops send nothing.
        runtime: Runner = app.app.state.runtime
        await runtime.flush()
        ticketing: Ticketing = await app.get(Ticketing)
        assert await ticketing.notifications.retry_due() == 0
        await asyncio.sleep(0.5)
        assert len(server.messages) == 1


async def test_a_duplicate_order_created_sends_no_second_email(
    tmp_path: Path, smtp_server_factory: SmtpServerFactory
) -> None:
    server = smtp_server_factory()
    settings = settings_from(tmp_path, smtp_url=server.url)
    async with running_app(settings, background=False) as app:
        organizer = await app.auth("olga", "organizer")
        buyer = await app.auth("alice", email="alice@example.test")
        event_id, standing = await app.sale(organizer)
        order = await app.buy(buyer, event_id, standing, email="alice@example.test")

        original = await _pending_order_created(app, order["id"])
        runtime: Runner = app.app.state.runtime
        assert await runtime.flush() >= 1
        await server.wait_for(1, timeout=10)

        bus: InProcessBus = await app.get(InProcessBus)
        redelivered_copy = _with_new_id(original)
        await bus.publish([original])  # at-least-once: the same event again
        await bus.publish([redelivered_copy])  # another event about the same order
        await asyncio.gather(bus.publish([original]), bus.publish([_with_new_id(original)]))
        await runtime.flush()
        await asyncio.sleep(0.3)

        assert len(server.messages) == 1
        record = await _email_record(app, order["id"])
        assert record is not None
        assert (record.status, record.attempts) == (NotificationStatus.SENT, 1)
        assert bus.dead_letters == []
        # The inventory consumer of the same event did not sell the ticket twice either.
        level = (await app.stock(organizer, event_id))[standing]
        assert (level["held"], level["sold"]) == (0, 1)


async def _pending_order_created(app: App, order_id: str) -> OrderCreated:
    persistence: Persistence = await app.get(Persistence)
    async with persistence.uow() as uow:
        entries = await uow.outbox.pending(limit=1000)
    found = [
        e.event
        for e in entries
        if isinstance(e.event, OrderCreated) and e.event.order_id == UUID(order_id)
    ]
    assert len(found) == 1, [type(e.event).__name__ for e in entries]
    return found[0]


def _with_new_id(event: OrderCreated) -> OrderCreated:
    return msgspec.structs.replace(event, id=uuid.uuid4(), occurred_at=datetime.now(UTC))
