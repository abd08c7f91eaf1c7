"""Group commit of holds: a batch of reservations answers each one as if it ran alone.

Runs on every backend through the ports (``Bookings`` over the unit of work under
test): batches formed on purpose (``reserve_together``) and by the batcher from
concurrent calls, with refusals of every kind, stock running out mid-batch, and a
crash mid-batch that must leave nothing half-written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any, Self
from uuid import UUID, uuid4

import pytest

from eltiketi_adapters.memory.clock import FixedClock
from eltiketi_adapters.memory.ids import RandomIds
from eltiketi_core.domain.booking import Booking, Contact
from eltiketi_core.domain.catalog import EventStatus, TicketType
from eltiketi_core.domain.events import BookingCreated, BookingExpired
from eltiketi_core.domain.identity import Principal
from eltiketi_core.errors import DomainError, InventoryInvariantError
from eltiketi_core.ports.stores import IdempotencyRecord
from eltiketi_core.ports.uow import UnitOfWork, UnitOfWorkFactory
from eltiketi_core.usecases.booking import Bookings
from eltiketi_core.usecases.core_ports import CorePorts
from eltiketi_core.usecases.policy import Policy
from eltiketi_core.usecases.reservation import (
    Batching,
    ItemRequest,
    KeyTaken,
    PendingHold,
    ReservationBatch,
    ReserveRequest,
)
from tests.contract.backends import POSTGRES
from tests.contract.builders import T0, World, new_ticket_type

NOW = T0


def who(name: str) -> Principal:
    return Principal(subject=name, email=f"{name}@example.org")


def wants(ticket_type: TicketType, quantity: int, *more: tuple[TicketType, int]) -> ReserveRequest:
    items = [(ticket_type, quantity), *more]
    return ReserveRequest(
        event_id=ticket_type.event_id,
        items=tuple(ItemRequest(ticket_type_id=t.id, quantity=q) for t, q in items),
    )


def bookings_over(
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock | None = None,
    *,
    policy: Policy | None = None,
    batching: Batching | None = None,
) -> Bookings:
    return Bookings(
        CorePorts(uow_factory, clock or FixedClock(NOW), RandomIds()),
        policy or Policy(rehold_limit=0),
        batching=batching,
    )


def codes(answers: Sequence[Booking | DomainError]) -> list[str]:
    return ["held" if isinstance(a, Booking) else a.code for a in answers]


async def stock(uow_factory: UnitOfWorkFactory, ticket_type: TicketType) -> tuple[int, int]:
    """(held, available) of the type."""
    async with uow_factory() as uow:
        level = (await uow.inventory.levels([ticket_type.id]))[ticket_type.id]
    return level.held, level.available


async def stored(uow_factory: UnitOfWorkFactory, answers: Sequence[object]) -> list[Booking]:
    """The admitted bookings as the store reads them back (all of them must be there)."""
    found = []
    async with uow_factory() as uow:
        for answer in answers:
            if isinstance(answer, Booking):
                booking = await uow.bookings.get(answer.id)
                assert booking == answer
                found.append(booking)
    return found


async def created_events(uow_factory: UnitOfWorkFactory) -> list[UUID]:
    async with uow_factory() as uow:
        pending = await uow.outbox.pending(limit=1000)
    return [e.event.booking_id for e in pending if isinstance(e.event, BookingCreated)]


async def test_a_batch_admits_greedily_in_arrival_order_as_if_each_ran_alone(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    """5 left: 2 and 2 fit, the next 2 does not, the 1 after it still does, then none."""
    seats = await world.ticket_type(capacity=5)
    bookings = bookings_over(uow_factory)
    answers = await bookings.reserve_together(
        [(who(name), wants(seats, q)) for name, q in [("a", 2), ("b", 2), ("c", 2), ("d", 1)]]
        + [(who("e"), wants(seats, 1))]
    )
    assert codes(answers) == ["held", "held", "sold_out", "held", "sold_out"]
    assert await stock(uow_factory, seats) == (5, 0)
    admitted = await stored(uow_factory, answers)
    assert [b.buyer for b in admitted] == ["a", "b", "d"]
    assert sorted(await created_events(uow_factory)) == sorted(b.id for b in admitted)
    # each booking gives back exactly its own part
    async with uow_factory() as uow:
        await uow.inventory.release(admitted[1].id, seats.id, 2)
        await uow.commit()
    assert await stock(uow_factory, seats) == (3, 2)


async def test_requests_for_several_types_are_admitted_together_or_not_at_all(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    standing = await world.ticket_type(capacity=2)
    event = await world.event_of(standing)
    seated = new_ticket_type(event, capacity=1)
    async with uow_factory() as uow:
        await uow.catalog.add_ticket_type(seated)
        await uow.commit()
    answers = await bookings_over(uow_factory).reserve_together(
        [
            (who("a"), wants(standing, 1, (seated, 1))),
            (who("b"), wants(seated, 1, (standing, 1))),  # seated is gone: nothing of it
            (who("c"), wants(standing, 1)),  # standing still has one
        ]
    )
    assert codes(answers) == ["held", "sold_out", "held"]
    assert await stock(uow_factory, standing) == (2, 0)
    assert await stock(uow_factory, seated) == (1, 0)


async def test_a_batch_where_some_requests_break_the_rules(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    """Each refusal is the one the request would get alone; the others are held."""
    seats = await world.ticket_type(capacity=20)
    elsewhere = await world.ticket_type(capacity=5)  # a type of another event
    cancelled = await world.ticket_type(await world.event(status=EventStatus.CANCELLED), capacity=5)
    answers = await bookings_over(
        uow_factory, policy=Policy(max_tickets_per_buyer=4)
    ).reserve_together(
        [
            (who("a"), wants(seats, 3)),
            (who("a"), wants(seats, 2)),  # with the 3 before it, over a's limit of 4
            (who("b"), wants(seats, 11)),  # over max_per_booking (10)
            (who("c"), ReserveRequest(event_id=seats.event_id, items=())),  # no items
            (
                who("d"),
                ReserveRequest(
                    event_id=seats.event_id,
                    items=(ItemRequest(ticket_type_id=elsewhere.id, quantity=1),),
                ),
            ),
            (who("e"), ReserveRequest(event_id=uuid4(), items=wants(seats, 1).items)),
            (who("f"), wants(cancelled, 1)),
            (who("a"), wants(seats, 1)),  # 3 + 1: within a's limit
            (who("g"), wants(seats, 4)),
        ]
    )
    assert codes(answers) == [
        "held",
        "buyer_limit_exceeded",
        "quantity_above_limit",
        "no_items",
        "unknown_ticket_type",
        "event_not_found",
        "event_cancelled",
        "held",
        "held",
    ]
    assert await stock(uow_factory, seats) == (8, 12)
    assert await stock(uow_factory, elsewhere) == (0, 5)
    assert len(await created_events(uow_factory)) == 3


async def test_stock_running_out_mid_batch_releases_expired_holds_first(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    seats = await world.ticket_type(capacity=4)
    clock = FixedClock(NOW)
    bookings = bookings_over(uow_factory, clock)
    (old,) = await bookings.reserve_together([(who("old"), wants(seats, 3))])
    assert isinstance(old, Booking)
    clock.advance(timedelta(minutes=16))  # the hold has expired; no sweeper ran
    answers = await bookings.reserve_together(
        [(who("a"), wants(seats, 2)), (who("b"), wants(seats, 3)), (who("c"), wants(seats, 2))]
    )
    assert codes(answers) == ["held", "sold_out", "held"]
    assert await stock(uow_factory, seats) == (4, 0)
    async with uow_factory() as uow:
        expired = await uow.bookings.get(old.id)
        events = await uow.outbox.pending(limit=100)
    assert expired is not None and expired.status.value == "expired"
    assert any(isinstance(e.event, BookingExpired) for e in events)


async def test_concurrent_reservations_are_grouped_and_never_oversell(
    wide_uow_factory: UnitOfWorkFactory, world: World, backend: str
) -> None:
    seats = await world.ticket_type(capacity=20)
    sizes: list[int] = []
    bookings = bookings_over(wide_uow_factory, batching=Batching(max_wait=timedelta(seconds=1)))
    bookings.batcher.on_batch = sizes.append
    answers = await asyncio.gather(
        *(bookings.reserve(who(f"b{n}"), wants(seats, 1)) for n in range(30)),
        return_exceptions=True,
    )
    held = [a for a in answers if not isinstance(a, BaseException)]
    refused = [a for a in answers if isinstance(a, DomainError)]
    assert len(held) == 20
    assert len(refused) == 10 and {r.code for r in refused} == {"sold_out"}
    assert await stock(wide_uow_factory, seats) == (20, 0)
    assert sum(sizes) >= 30 and max(sizes) > 1  # they were grouped
    if backend != POSTGRES:
        assert sizes[0] == 1  # the first started alone, at once


async def test_idempotency_keys_in_a_batch(uow_factory: UnitOfWorkFactory, world: World) -> None:
    seats = await world.ticket_type(capacity=10)
    bookings = bookings_over(uow_factory)
    first = await asyncio.gather(
        *(
            bookings.reserve(who(f"k{n}"), wants(seats, 1), idempotency_key="key-1")
            for n in range(5)
        )
    )
    again = await asyncio.gather(
        *(
            bookings.reserve(who(f"k{n}"), wants(seats, 1), idempotency_key="key-1")
            for n in range(5)
        )
    )
    assert [r.replayed for r in again] == [True] * 5
    assert [r.booking.id for r in again] == [r.booking.id for r in first]
    assert await stock(uow_factory, seats) == (5, 5)


async def test_two_requests_of_one_buyer_in_a_batch_count_together(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    seats = await world.ticket_type(capacity=20)
    bookings = bookings_over(uow_factory, policy=Policy(max_tickets_per_buyer=3, rehold_limit=0))
    answers = await asyncio.gather(
        *(bookings.reserve(who("tabs"), wants(seats, 2)) for _ in range(3)),
        return_exceptions=True,
    )
    assert sorted(
        "held" if not isinstance(a, BaseException) else getattr(a, "code", "?") for a in answers
    ) == ["buyer_limit_exceeded", "buyer_limit_exceeded", "held"]
    assert await stock(uow_factory, seats) == (2, 18)


class Crash(Exception):
    """An unexpected failure in the middle of a batch (not a request's answer)."""


class _CrashingInventory:
    def __init__(self, inner: Any, plan: CrashPlan) -> None:
        self._inner = inner
        self._plan = plan

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def take(self, ticket_type_id: UUID, takes: Sequence[tuple[UUID, int]]) -> bool:
        if self._plan.crashes_left > 0 and len(takes) >= self._plan.at_least:
            self._plan.crashes_left -= 1
            # half the batch is written (bookings, keys, outbox; the first take ran)
            await self._inner.take(ticket_type_id, takes[:1])
            raise Crash("the process fell over mid-batch")
        result: bool = await self._inner.take(ticket_type_id, takes)
        return result


class _CrashingUnitOfWork:
    def __init__(self, inner: UnitOfWork, plan: CrashPlan) -> None:
        self._inner = inner
        self._plan = plan

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @property
    def inventory(self) -> Any:
        return _CrashingInventory(self._inner.inventory, self._plan)

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)


class CrashPlan:
    """Crash ``crashes_left`` times, in the stock step of batches of ``at_least`` holds."""

    def __init__(self, inner: UnitOfWorkFactory, *, crashes: int, at_least: int = 1) -> None:
        self.inner = inner
        self.crashes_left = crashes
        self.at_least = at_least

    def __call__(self) -> UnitOfWork:
        return _CrashingUnitOfWork(self.inner(), self)  # type: ignore[return-value]


async def test_a_crash_mid_batch_writes_nothing_and_each_request_runs_again_alone(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    seats = await world.ticket_type(capacity=3)
    bookings = bookings_over(CrashPlan(uow_factory, crashes=1, at_least=2))
    answers = await bookings.reserve_together(
        [(who(name), wants(seats, 1)) for name in ("a", "b", "c", "d")]
    )
    assert codes(answers) == ["held", "held", "held", "sold_out"]
    assert await stock(uow_factory, seats) == (3, 0)
    admitted = await stored(uow_factory, answers)
    # the crashed batch left no booking, allocation or event behind
    assert sorted(await created_events(uow_factory)) == sorted(b.id for b in admitted)
    async with uow_factory() as uow:
        for booking in admitted:
            await uow.inventory.release(booking.id, seats.id, 1)
        await uow.commit()
    assert await stock(uow_factory, seats) == (0, 3)


async def test_a_batch_that_keeps_crashing_fails_each_request_and_writes_nothing(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    seats = await world.ticket_type(capacity=3)
    bookings = bookings_over(CrashPlan(uow_factory, crashes=100))
    results = await asyncio.gather(
        *(bookings.reserve(who(name), wants(seats, 1)) for name in ("a", "b", "c")),
        return_exceptions=True,
    )
    assert all(isinstance(r, Crash) for r in results)
    assert await stock(uow_factory, seats) == (0, 3)
    assert await created_events(uow_factory) == []


@pytest.mark.parametrize("shards", [1, 4])
async def test_take_is_all_or_nothing_and_records_each_booking(
    uow_factory: UnitOfWorkFactory, world: World, shards: int
) -> None:
    seats = await world.ticket_type(capacity=8, shards=shards)
    first, second, third = uuid4(), uuid4(), uuid4()
    async with uow_factory() as uow:
        assert await uow.inventory.lock_available([seats.id, uuid4()]) == {seats.id: 8}
        assert await uow.inventory.take(seats.id, [(first, 3), (second, 2)])
        assert not await uow.inventory.take(seats.id, [(third, 2), (third, 2)])
        assert await uow.inventory.lock_available([seats.id]) == {seats.id: 3}
        await uow.commit()
    assert await stock(uow_factory, seats) == (5, 3)
    async with uow_factory() as uow:
        await uow.inventory.release(first, seats.id, 3)
        with pytest.raises(InventoryInvariantError):
            await uow.inventory.release(second, seats.id, 3)
    async with uow_factory() as uow:
        await uow.inventory.release(second, seats.id, 2)
        await uow.commit()
    assert await stock(uow_factory, seats) == (3, 5)


async def test_active_quantities_reads_several_buyers_at_once(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    seats = await world.ticket_type(capacity=20)
    bookings = bookings_over(uow_factory)
    await bookings.reserve_together(
        [(who("a"), wants(seats, 2)), (who("b"), wants(seats, 3)), (who("a"), wants(seats, 1))]
    )
    async with uow_factory() as uow:
        counted = await uow.bookings.active_quantities(["a", "b", "z"], seats.event_id, NOW)
    assert counted == {"a": 3, "b": 3, "z": 0}


@pytest.mark.parametrize(("shards", "capacity"), [(2, 20), (4, 6)])
async def test_a_batch_on_a_sharded_type_gives_each_booking_its_own_part(
    uow_factory: UnitOfWorkFactory, world: World, shards: int, capacity: int
) -> None:
    """The sum from one shard when one has it, else booking by booking over the shards."""
    seats = await world.ticket_type(capacity=capacity, shards=shards)
    answers = await bookings_over(uow_factory).reserve_together(
        [(who(name), wants(seats, q)) for name, q in [("a", 2), ("b", 3), ("c", 1)]]
    )
    assert codes(answers) == ["held", "held", "held"]
    assert await stock(uow_factory, seats) == (6, capacity - 6)
    async with uow_factory() as uow:
        for answer in answers:
            assert isinstance(answer, Booking)
            await uow.inventory.release(answer.id, seats.id, answer.items[0].quantity)
        await uow.commit()
    assert await stock(uow_factory, seats) == (0, capacity)


async def test_the_rehold_cooldown_is_checked_per_request_in_a_batch(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    seats = await world.ticket_type(capacity=20)
    clock = FixedClock(NOW)
    bookings = bookings_over(uow_factory, clock, policy=Policy(rehold_limit=2))
    for _ in range(2):  # "a" holds and releases twice: cooled down
        (held,) = await bookings.reserve_together([(who("a"), wants(seats, 1))])
        assert isinstance(held, Booking)
        await bookings.release(who("a"), held.id)
    clock.advance(timedelta(seconds=30))
    answers = await bookings.reserve_together(
        [(who("a"), wants(seats, 1)), (who("b"), wants(seats, 1)), (who("a"), wants(seats, 2))]
    )
    assert codes(answers) == ["hold_cooldown", "held", "hold_cooldown"]
    refused = answers[0]
    assert isinstance(refused, DomainError)
    assert refused.extra["retry_after"] == 15 * 60 - 30


async def test_a_key_taken_meanwhile_replays_and_the_rest_is_decided_without_it(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    """Another process committed "k" between this request's replay check and its batch:
    it gets KeyTaken (and replays), and what it would have used goes to the others."""
    seats = await world.ticket_type(capacity=20)
    async with uow_factory() as uow:
        await uow.idempotency.add(
            IdempotencyRecord(user="a", key="k", request_hash="h", response=b"{}", created_at=NOW)
        )
        await uow.commit()
    batch = ReservationBatch(
        CorePorts(uow_factory, FixedClock(NOW), RandomIds()),
        Policy(max_tickets_per_buyer=3, rehold_limit=0),
    )
    contact = Contact(email="a@example.org")
    first = PendingHold(who("a"), wants(seats, 2), contact, idempotency_key="k", request_hash="x")
    second = PendingHold(who("a"), wants(seats, 2), contact)  # fits once the first is out
    await batch.run([first, second])
    assert isinstance(first.future.exception(), KeyTaken)
    assert isinstance(second.future.result(), Booking)
    assert await stock(uow_factory, seats) == (2, 18)
