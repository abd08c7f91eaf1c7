"""Two payments of one booking succeeding at once: one order, one refund, money balanced.

Issue 13: a declined payment P1 could still be paid (Stripe) while the buyer opened P2; both
succeeded, one order was made and P1's money was kept. Today the second payment cannot be
opened that way, but bookings made before the upgrade may hold two payable payments
(:mod:`tests.unit.usecases.legacy_payments`). Every round here pays both at the gateway,
then races what the routes call — ``POST /v1/orders`` (``settlement.confirm``) and the
gateway's webhook (``settlement.handle_webhook``), for each payment, the webhook delivered
twice — on the in-memory kit and on PostgreSQL, where the transactions really overlap.

Exactly one payment is kept by the one order; the other is ``refunded`` with one
``duplicate_payment`` refund that the gateway executed; money in = order kept + refund.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from eltiketi_adapters.memory import (
    FakePaymentGateway,
    FixedClock,
    HmacTicketSigner,
    InProcessBus,
    MemoryStorage,
    RecordingNotifier,
    TimeOrderedIds,
    memory_uow_factory,
)
from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.order import OrderStatus
from eltiketi_core.domain.payment import PaymentStatus, RefundReason, RefundStatus
from eltiketi_core.errors import DomainError, DuplicatePaymentRefunded
from eltiketi_core.ports.payments import WebhookKind
from eltiketi_core.ports.uow import UnitOfWorkFactory
from eltiketi_core.usecases import ItemRequest, NewEvent, NewTicketType, ReserveRequest
from eltiketi_core.usecases.facade import Ticketing
from eltiketi_core.usecases.relay import OutboxRelay
from eltiketi_core.usecases.settlement import Confirmation
from tests.integration.sqlalchemy.database import fresh_postgres_database
from tests.unit.usecases.legacy_payments import open_second_payment

ROUNDS = 12
ORGANIZER = Principal(subject="olga", roles=frozenset({"organizer"}))
PRICE = Money(4500, "EUR")


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.postgres)])
async def uow_factory(request: pytest.FixtureRequest) -> AsyncIterator[UnitOfWorkFactory]:
    """A storage of this test's own: the relay drains the whole outbox, so events other tests
    left in a shared database would reach this test's gateway."""
    if request.param == "memory":
        yield memory_uow_factory(MemoryStorage())
        return
    async with (
        fresh_postgres_database("duplicate_payments") as url,
        SqlAlchemyPersistence(url, pool_size=8, max_overflow=4) as db,
    ):
        yield db.uow_factory()


async def _after(delay: float, work: Awaitable[Any]) -> Any:
    await asyncio.sleep(delay)
    return await work


async def test_two_payments_succeeding_for_one_booking_keep_one_and_refund_one(
    uow_factory: UnitOfWorkFactory,
) -> None:
    clock = FixedClock(datetime.now(UTC))
    gateway = FakePaymentGateway()
    ids = TimeOrderedIds()
    core = Ticketing(
        uow=uow_factory,
        clock=clock,
        ids=ids,
        gateway=gateway,
        signer=HmacTicketSigner(),
        notifiers=[RecordingNotifier("email")],
    )
    bus = InProcessBus(core.handlers, backoff_seconds=0)
    relay = OutboxRelay(uow_factory, bus, clock)
    event = await core.catalog.create_event(
        ORGANIZER,
        NewEvent(
            name="Two Cards",
            venue="Arena",
            starts_at=clock.now() + timedelta(days=30),
            timezone="Europe/Berlin",
        ),
    )
    standing = await core.catalog.add_ticket_type(
        ORGANIZER, event.id, NewTicketType(name="Standing", price=PRICE, capacity=ROUNDS)
    )
    await core.catalog.publish(ORGANIZER, event.id)
    rng = random.Random(13)
    kept_by: Counter[str] = Counter()

    for round_no in range(ROUNDS):
        alice = Principal(subject=f"alice-{round_no}", email="alice@example.test")
        request = ReserveRequest(
            event_id=event.id, items=(ItemRequest(ticket_type_id=standing.id, quantity=1),)
        )
        booking = (await core.bookings.reserve(alice, request)).booking
        first = await core.payments.start(alice, booking.id)
        assert first.provider_reference is not None
        gateway.decline(first.provider_reference)
        body, headers = gateway.signed_webhook(WebhookKind.PAYMENT_FAILED, first.provider_reference)
        await core.settlement.handle_webhook(gateway.provider, body, headers)
        second = await open_second_payment(uow_factory, gateway, ids, clock, booking)
        assert second.provider_reference is not None
        gateway.approve(first.provider_reference, after_decline=True)
        gateway.approve(second.provider_reference)
        payments = {"first": first, "second": second}

        contenders: dict[str, Awaitable[Any]] = {}
        for name, payment in payments.items():
            assert payment.provider_reference is not None
            body, headers = gateway.signed_webhook(
                WebhookKind.PAYMENT_SUCCEEDED, payment.provider_reference
            )
            contenders[f"confirm {name}"] = core.settlement.confirm(alice, booking.id, payment.id)
            for delivery in ("webhook", "webhook again"):
                contenders[f"{delivery} {name}"] = core.settlement.handle_webhook(
                    gateway.provider, body, headers
                )
        answers = await asyncio.gather(
            *(_after(rng.random() * 0.01, work) for work in contenders.values()),
            return_exceptions=True,
        )
        results = dict(zip(contenders, answers, strict=True))
        context = (round_no, results)
        crashed = [a for a in answers if isinstance(a, BaseException)]
        assert all(isinstance(a, DomainError) for a in crashed), context
        await relay.drain()
        assert bus.dead_letters == [], bus.dead_letters

        async with uow_factory() as uow:
            order = await uow.orders.for_booking(booking.id)
            stored = {n: await uow.payments.get(p.id) for n, p in payments.items()}
            refunds = {n: await uow.refunds.for_payment(p.id) for n, p in payments.items()}
        assert order is not None and order.status is OrderStatus.CONFIRMED, context
        [kept] = [n for n, p in payments.items() if p.id == order.payment_id]
        [other] = [n for n in payments if n != kept]
        kept_by[kept] += 1
        kept_payment, other_payment = stored[kept], stored[other]
        assert kept_payment is not None and other_payment is not None
        assert kept_payment.status is PaymentStatus.SUCCEEDED, context
        assert other_payment.status is PaymentStatus.REFUNDED, context
        assert refunds[kept] == [], context
        assert [(r.reason, r.status, r.amount) for r in refunds[other]] == [
            (RefundReason.DUPLICATE_PAYMENT, RefundStatus.SUCCEEDED, PRICE)
        ], context
        # The buyer's answers: the kept payment names the one order, the other is refunded.
        kept_answer, other_answer = results[f"confirm {kept}"], results[f"confirm {other}"]
        assert isinstance(kept_answer, Confirmation), context
        assert kept_answer.order.id == order.id, context
        assert isinstance(other_answer, DuplicatePaymentRefunded), context
        assert other_answer.extra == {"order_id": str(order.id)}, context
        # Money in = orders kept + refunds, at the gateway too.
        refs = {n: p.provider_reference for n, p in payments.items()}
        captured = sum(gateway.payment(r).amount.amount for r in refs.values() if r)
        refunded = sum(gateway.refunded_amount(r) for r in refs.values() if r)
        assert captured == order.total.amount + refunded == 2 * PRICE.amount, context
        assert refunded == sum(r.amount.amount for r in refunds[other]), context

    async with uow_factory() as uow:
        level = (await uow.inventory.levels([standing.id]))[standing.id]
    assert (level.held, level.sold) == (0, ROUNDS)
    assert kept_by.total() == ROUNDS
