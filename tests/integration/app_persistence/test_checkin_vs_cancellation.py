"""A door scan racing the buyer's cancellation of the same order, on PostgreSQL.

Exactly one of them may win: the ticket is used and the order stays (``ticket_used``
for the cancellation), or the order is cancelled and refunded and the ticket is void
(``ticket_void`` at the door). Never a refund for a ticket that got someone in.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from eltiketi_adapters.memory import (
    FakePaymentGateway,
    FixedClock,
    RecordingNotifier,
    TimeOrderedIds,
)
from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from eltiketi_adapters.tickets import JoseTicketSigner, TicketKeySet
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.organization import MemberRole
from eltiketi_core.errors import TicketUsed, TicketVoid
from eltiketi_core.usecases import ItemRequest, NewEvent, NewTicketType, ReserveRequest
from eltiketi_core.usecases.facade import Ticketing

pytestmark = pytest.mark.postgres

ROUNDS = 30
ORGANIZER = Principal(subject="olga", roles=frozenset({"organizer"}))
#: A door member of the event's organization (made so below).
STAFF = Principal(subject="sam")
ALICE = Principal(subject="alice", email="alice@example.org")


async def _outcome(work: Any, delay: float) -> str:
    await asyncio.sleep(delay)
    try:
        await work
    except (TicketUsed, TicketVoid) as refused:
        return refused.code
    return "ok"


async def test_a_scan_and_a_cancellation_never_both_win(pg: SqlAlchemyPersistence) -> None:
    clock = FixedClock(datetime.now(UTC))
    gateway = FakePaymentGateway()
    core = Ticketing(
        uow=pg.uow_factory(),
        clock=clock,
        ids=TimeOrderedIds(),
        gateway=gateway,
        signer=JoseTicketSigner(TicketKeySet.generate()),
        notifiers=[RecordingNotifier("email")],
    )
    event = await core.catalog.create_event(
        ORGANIZER,
        NewEvent(
            name="Door Race",
            venue="Club",
            starts_at=clock.now() + timedelta(days=30),
            timezone="Europe/Berlin",
        ),
    )
    ticket_type = await core.catalog.add_ticket_type(
        ORGANIZER, event.id, NewTicketType(name="Entry", price=Money(1500, "EUR"), capacity=100)
    )
    await core.catalog.publish(ORGANIZER, event.id)
    await core.organizations.grant(event.organization_id, STAFF.subject, MemberRole.DOOR)
    request = ReserveRequest(
        event_id=event.id, items=(ItemRequest(ticket_type_id=ticket_type.id, quantity=1),)
    )
    rng = random.Random(13)
    outcomes: Counter[tuple[str, str]] = Counter()
    for round_no in range(ROUNDS):
        buyer = Principal(subject=f"buyer-{round_no}", email=f"b{round_no}@example.org")
        booking = (await core.bookings.reserve(buyer, request)).booking
        payment = await core.payments.start(buyer, booking.id)
        assert payment.provider_reference is not None
        gateway.approve(payment.provider_reference)
        order = (await core.settlement.confirm(buyer, booking.id, payment.id)).order
        [ticket] = (await core.orders.get(buyer, order.id)).tickets

        cancel, scan = await asyncio.gather(
            _outcome(core.orders.cancel(buyer, order.id), rng.uniform(0, 0.004)),
            _outcome(core.checkins.check_in(STAFF, ticket.token, event.id), rng.uniform(0, 0.004)),
        )
        outcomes[(cancel, scan)] += 1
        assert (cancel, scan) in {("ok", "ticket_void"), ("ticket_used", "ok")}, round_no

        async with pg.engine.connect() as connection:
            checked_in = await connection.scalar(
                text("SELECT count(*) FROM check_ins WHERE ticket_id = :t"), {"t": ticket.id}
            )
            refunds = await connection.scalar(
                text("SELECT count(*) FROM refunds WHERE order_id = :o"), {"o": order.id}
            )
        assert (checked_in, refunds) == ((0, 1) if cancel == "ok" else (1, 0))
    # Both orders of events happened (the race was really run both ways).
    assert len(outcomes) == 2, outcomes
