"""E-ticket delivery: recorded, retried with backoff, never sent twice, resendable."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eltiketi_core.errors import RateLimited
from eltiketi_core.ports.stores import NotificationStatus
from eltiketi_core.usecases.notifications import tickets_key
from tests.unit.usecases.conftest import Sale, buyer


async def _record(sale: Sale, order_id: object):  # type: ignore[no-untyped-def]
    async with sale.kit.uow() as uow:
        return await uow.notifications.get(tickets_key(order_id), "email")  # type: ignore[arg-type]


async def test_a_failed_email_is_retried_after_backoff_and_sent_once(sale: Sale) -> None:
    sale.kit.notifier.fail_next(2)
    order_id = await sale.buy(buyer())
    await sale.kit.drain()
    record = await _record(sale, order_id)
    assert record.status is NotificationStatus.FAILED and record.attempts == 1
    assert await sale.kit.core.notifications.retry_due() == 0  # backoff not over
    sale.clock.advance(timedelta(seconds=5))
    assert await sale.kit.core.notifications.retry_due() == 0  # second failure
    sale.clock.advance(timedelta(seconds=10))
    assert await sale.kit.core.notifications.retry_due() == 1
    record = await _record(sale, order_id)
    assert record.status is NotificationStatus.SENT and record.attempts == 3
    sale.clock.advance(timedelta(hours=1))
    assert await sale.kit.core.notifications.retry_due() == 0
    assert len(sale.kit.notifier.tickets) == 1


async def test_a_duplicate_order_created_sends_nothing_more(sale: Sale) -> None:
    await sale.buy(buyer())
    async with sale.kit.uow() as uow:
        [entry] = [e for e in await uow.outbox.pending(limit=50) if e.event.type == "OrderCreated"]
    await sale.kit.drain()
    await sale.kit.bus.publish([entry.event, entry.event])
    assert len(sale.kit.notifier.tickets) == 1
    assert await sale.levels() == (100, 0, 1)


async def test_resend_is_rate_limited(sale: Sale) -> None:
    alice = buyer()
    order_id = await sale.buy(alice)
    await sale.kit.drain()
    with pytest.raises(RateLimited) as err:
        await sale.kit.core.notifications.resend_tickets(alice, order_id)
    assert err.value.extra["retry_after"] >= 1
    sale.clock.advance(timedelta(minutes=2))
    assert await sale.kit.core.notifications.resend_tickets(alice, order_id) == 1
    assert len(sale.kit.notifier.tickets) == 2
