"""E-ticket delivery: recorded, retried with backoff, never sent twice, resendable."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest

from eltiketi_adapters.memory import InMemoryTicketing, RecordingNotifier
from eltiketi_core.domain.booking import Contact
from eltiketi_core.domain.identity import Principal
from eltiketi_core.errors import PaymentIncomplete, RateLimited
from eltiketi_core.ports.notifications import PaymentProblemNotice, RefundNotice, TicketsNotice
from eltiketi_core.ports.stores import NotificationStatus
from eltiketi_core.usecases import Policy
from eltiketi_core.usecases.notifications import SEND_CONCURRENCY, tickets_key
from tests.unit.usecases.conftest import Sale, buyer, make_sale


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


# -- issue 13: resend slot, per-booking limits, leases ------------------------------------------


class GatedNotifier:
    """An ``email`` channel whose sends wait at a gate (a send in progress), noting the
    ``message_key`` of every send begun (implements :class:`~eltiketi_core.ports.Notifier`)."""

    channel = "email"

    def __init__(self, *, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.begun: list[str | None] = []
        self.finished: list[str | None] = []
        self.cancelled = 0
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()

    def accepts(self, contact: Contact) -> bool:
        return contact.email is not None

    async def send_tickets(self, notice: TicketsNotice) -> None:
        self.begun.append(notice.message_key)
        if self.fail_first > 0:
            self.fail_first -= 1
            raise ConnectionError("mail server down (test)")
        self.entered.set()
        try:
            await self.gate.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        self.finished.append(notice.message_key)

    async def send_refund(self, notice: RefundNotice) -> None:
        raise NotImplementedError

    async def send_payment_problem(self, notice: PaymentProblemNotice) -> None:
        raise NotImplementedError


class WireNotifier(RecordingNotifier):
    """A recording channel that, like a real one, waits on the network before it records."""

    async def send_tickets(self, notice: TicketsNotice) -> None:
        await asyncio.sleep(0.01)
        await super().send_tickets(notice)


def two_channel_kit(policy: Policy | None = None) -> InMemoryTicketing:
    email, sms = WireNotifier("email"), WireNotifier("sms")
    return InMemoryTicketing(notifier=email, notifiers=[email, sms], policy=policy)


async def test_ten_concurrent_resends_send_one_email_and_one_sms() -> None:
    kit = two_channel_kit()
    sale = await make_sale(kit)
    alice = Principal(subject="alice", email="alice@example.org", phone="+4915112345678")
    order_id = await sale.buy(alice)
    await kit.drain()
    email, sms = kit.notifiers
    assert (len(email.tickets), len(sms.tickets)) == (1, 1)  # type: ignore[attr-defined]
    sale.clock.advance(timedelta(minutes=2))

    results = await asyncio.gather(
        *(kit.core.notifications.resend_tickets(alice, order_id) for _ in range(10)),
        return_exceptions=True,
    )

    assert sorted(r for r in results if isinstance(r, int)) == [2]
    assert all(isinstance(r, RateLimited) for r in results if not isinstance(r, int))
    assert (len(email.tickets), len(sms.tickets)) == (2, 2)  # type: ignore[attr-defined]


async def test_a_resend_is_a_new_message_and_a_retry_is_the_same_one(sale: Sale) -> None:
    alice = buyer()
    sale.kit.notifier.fail_next(1)
    order_id = await sale.buy(alice)
    await sale.kit.drain()
    sale.clock.advance(timedelta(seconds=5))
    assert await sale.kit.core.notifications.retry_due() == 1
    sale.clock.advance(timedelta(minutes=2))
    assert await sale.kit.core.notifications.resend_tickets(alice, order_id) == 1
    sale.clock.advance(timedelta(minutes=2))
    assert await sale.kit.core.notifications.resend_tickets(alice, order_id) == 1
    first = f"tickets:{order_id}/email"
    assert [n.message_key for n in sale.kit.notifier.tickets] == [
        first,  # the retry of the failed first attempt: the same message
        f"{first}/1",
        f"{first}/2",
    ]
    record = await _record(sale, order_id)
    assert (record.generation, record.status, record.lease) == (2, NotificationStatus.SENT, None)


async def test_a_resend_while_the_first_send_is_in_progress_is_refused() -> None:
    gated = GatedNotifier()
    kit = InMemoryTicketing(notifiers=[gated], policy=Policy(resend_interval=timedelta(seconds=5)))
    sale = await make_sale(kit)
    alice = buyer()
    order_id = await sale.buy(alice)
    sending = asyncio.create_task(kit.core.notifications.deliver(tickets_key(order_id)))
    await gated.entered.wait()
    sale.clock.advance(timedelta(seconds=10))  # quiet long enough, but the first send holds it
    with pytest.raises(RateLimited) as refused:
        await kit.core.notifications.resend_tickets(alice, order_id)
    assert refused.value.extra["retry_after"] == 5  # when the sender's lease would run out
    gated.gate.set()
    assert await sending == 1
    assert gated.finished == [f"tickets:{order_id}/email"]


async def test_three_declined_payments_send_one_payment_problem_notice_per_channel() -> None:
    kit = two_channel_kit()
    sale = await make_sale(kit)
    alice = Principal(subject="alice", email="victim@example.org", phone="+4915112345678")
    booking = await sale.hold(alice)
    for _ in range(3):
        payment = await sale.pay(alice, booking, approve=False)
        assert payment.provider_reference is not None
        kit.gateway.decline(payment.provider_reference)
        with pytest.raises(PaymentIncomplete):
            await kit.core.settlement.confirm(alice, booking.id, payment.id)
        await kit.drain()
    email, sms = kit.notifiers
    assert len(email.payment_problems) == 1  # type: ignore[attr-defined]
    assert len(sms.payment_problems) == 1  # type: ignore[attr-defined]
    async with kit.uow() as uow:
        records = await uow.notifications.for_key_prefix("payment_problem:")
    assert sorted(r.status.value for r in records) == ["sent"] * 2 + ["suppressed"] * 4
    sale.clock.advance(timedelta(hours=1))
    assert await kit.core.notifications.retry_due() == 0  # suppressed is final


async def test_the_per_booking_limits_are_policy() -> None:
    kit = InMemoryTicketing(
        policy=Policy(payment_problem_notices_per_booking=2, refund_notices_per_booking=0)
    )
    sale = await make_sale(kit)
    alice = buyer()
    booking = await sale.hold(alice)
    for _ in range(3):
        payment = await sale.pay(alice, booking, approve=False)
        assert payment.provider_reference is not None
        kit.gateway.decline(payment.provider_reference)
        with pytest.raises(PaymentIncomplete):
            await kit.core.settlement.confirm(alice, booking.id, payment.id)
    await kit.drain()
    assert len(kit.notifier.payment_problems) == 2
    order_id = await sale.buy(alice)
    await kit.drain()
    await kit.core.orders.cancel(alice, order_id)
    await kit.drain()
    assert kit.notifier.refunds == []
    assert len(kit.notifier.tickets) == 1  # the tickets themselves are never capped


async def test_a_crashed_sender_is_retried_after_its_lease_with_the_same_message_key() -> None:
    gated = GatedNotifier()
    kit = InMemoryTicketing(notifiers=[gated])
    sale = await make_sale(kit)
    order_id = await sale.buy(buyer())
    sending = asyncio.create_task(kit.core.notifications.deliver(tickets_key(order_id)))
    await gated.entered.wait()
    sending.cancel()  # the process dies mid-send: nothing more is written, no renewals
    with contextlib.suppress(asyncio.CancelledError):
        await sending
    lease = kit.policy.notification_lease
    sale.clock.advance(lease - timedelta(seconds=1))
    assert await kit.core.notifications.retry_due() == 0  # still leased
    sale.clock.advance(timedelta(seconds=1))
    gated.gate.set()
    assert await kit.core.notifications.retry_due() == 1
    assert gated.begun == [f"tickets:{order_id}/email"] * 2
    assert gated.finished == [f"tickets:{order_id}/email"]


async def test_a_live_send_renews_its_lease_and_is_never_taken_over() -> None:
    gated = GatedNotifier()
    policy = Policy(notification_lease=timedelta(seconds=0.3))
    kit = InMemoryTicketing(notifiers=[gated], policy=policy)
    sale = await make_sale(kit)
    order_id = await sale.buy(buyer())
    sending = asyncio.create_task(kit.core.notifications.deliver(tickets_key(order_id)))
    await gated.entered.wait()
    for _ in range(3):  # the send takes far longer than one lease
        sale.clock.advance(timedelta(seconds=10))
        await _until_renewed(sale, order_id)
        assert await kit.core.notifications.retry_due() == 0
    gated.gate.set()
    assert await sending == 1
    assert gated.begun == gated.finished == [f"tickets:{order_id}/email"]
    record = await _record(sale, order_id)
    assert (record.status, record.lease) == (NotificationStatus.SENT, None)


async def test_a_sender_that_cannot_renew_stops_sending_before_its_lease_runs_out() -> None:
    gated = GatedNotifier()
    policy = Policy(notification_lease=timedelta(seconds=0.3))
    kit = InMemoryTicketing(notifiers=[gated], policy=policy)
    sale = await make_sale(kit)
    order_id = await sale.buy(buyer())
    sending = asyncio.create_task(kit.core.notifications.deliver(tickets_key(order_id)))
    await gated.entered.wait()
    async with kit.uow():  # the database stalls: no renewal can commit
        assert await asyncio.wait_for(sending, timeout=5) == 0
    assert gated.cancelled == 1 and gated.finished == []
    sale.clock.advance(timedelta(seconds=1))
    gated.gate.set()
    assert await kit.core.notifications.retry_due() == 1  # someone else may now send it
    assert gated.finished == [f"tickets:{order_id}/email"]


async def _until_renewed(sale: Sale, order_id: object) -> None:
    async with asyncio.timeout(5):
        while True:
            record = await _record(sale, order_id)
            if record.next_attempt_at > sale.clock.now():
                return
            await asyncio.sleep(0.02)


async def test_retries_go_out_several_at_a_time() -> None:
    gated = GatedNotifier(fail_first=10)
    kit = InMemoryTicketing(notifiers=[gated])
    sale = await make_sale(kit)
    for n in range(10):
        await sale.buy(buyer(f"buyer{n}"))
    await kit.drain()  # the mail server is down: ten failures
    sale.clock.advance(timedelta(seconds=5))
    retrying = asyncio.create_task(kit.core.notifications.retry_due())
    async with asyncio.timeout(5):
        while len(gated.begun) < 10 + SEND_CONCURRENCY:  # noqa: ASYNC110 - counting sends
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert len(gated.begun) == 10 + SEND_CONCURRENCY  # in flight together, and no more
    gated.gate.set()
    assert await retrying == 10
