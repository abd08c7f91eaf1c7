"""A reservation racing the event's cancellation must not leave a hold on a cancelled event.

ARCHITECTURE.md: cancelling an event releases every hold and refunds every order. The
interleaving is forced, not hoped for: another transaction locks the ticket type's stock
row, so the reservation has read the event (still on sale) and then waits at its
conditional ``UPDATE`` while the cancellation runs; then the lock goes.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

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
from eltiketi_core.errors import DomainError
from eltiketi_core.usecases import ItemRequest, NewEvent, NewTicketType, ReserveRequest
from eltiketi_core.usecases.facade import Ticketing

pytestmark = pytest.mark.postgres

ORGANIZER = Principal(subject="olga", roles=frozenset({"organizer"}))
BOB = Principal(subject="bob", email="bob@example.test")


async def _waiting_on_locks(db: SqlAlchemyPersistence) -> int:
    async with db.engine.connect() as connection:
        return int(
            await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            or 0
        )


async def test_a_reservation_racing_the_cancellation_leaves_no_hold(
    pg: SqlAlchemyPersistence,
) -> None:
    clock = FixedClock(datetime.now(UTC))
    core = Ticketing(
        uow=pg.uow_factory(),
        clock=clock,
        ids=TimeOrderedIds(),
        gateway=FakePaymentGateway(),
        signer=JoseTicketSigner(TicketKeySet.generate()),
        notifiers=[RecordingNotifier("email")],
    )
    event = await core.catalog.create_event(
        ORGANIZER,
        NewEvent(
            name="Called off",
            venue="Hall",
            starts_at=clock.now() + timedelta(days=30),
            timezone="Europe/Berlin",
        ),
    )
    ticket_type = await core.catalog.add_ticket_type(
        ORGANIZER, event.id, NewTicketType(name="Seat", price=Money(1000, "EUR"), capacity=5)
    )
    await core.catalog.publish(ORGANIZER, event.id)
    request = ReserveRequest(
        event_id=event.id, items=(ItemRequest(ticket_type_id=ticket_type.id, quantity=1),)
    )

    async def cancel_and_run_the_job() -> None:
        # The request, then its background job at once: the job's release of the
        # holds races the blocked reservation too.
        await core.cancellation.cancel(ORGANIZER, event.id)
        while await core.jobs.run_due():
            pass

    async with pg.engine.connect() as blocker:
        transaction = await blocker.begin()
        await blocker.execute(
            text("SELECT held FROM inventory_shards WHERE ticket_type_id = :t FOR UPDATE"),
            {"t": ticket_type.id},
        )
        reserving = asyncio.create_task(core.bookings.reserve(BOB, request))
        async with asyncio.timeout(10):
            while await _waiting_on_locks(pg) == 0:  # noqa: ASYNC110 - polling PostgreSQL
                await asyncio.sleep(0.02)
        assert not reserving.done()
        cancelling = asyncio.create_task(cancel_and_run_the_job())
        # The cancellation may finish meanwhile or wait for the reservation; either is fine.
        await asyncio.wait({cancelling}, timeout=1)
        await transaction.rollback()
    outcome = await asyncio.gather(reserving, return_exceptions=True)
    await cancelling

    assert not isinstance(outcome[0], BaseException) or isinstance(outcome[0], DomainError)
    async with pg.unit_of_work() as uow:
        level = (await uow.inventory.levels([ticket_type.id]))[ticket_type.id]
        held = await uow.bookings.held_for_event(event.id, limit=10)
    assert (level.held, held) == (0, []), (outcome, level, held)
