"""Holding tickets: no oversell, all-or-nothing, limits, idempotency, expiry."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

import pytest

from eltiketi_core.domain.booking import BookingStatus, Contact
from eltiketi_core.domain.identity import Principal
from eltiketi_core.errors import Conflict, DomainError, NotFound, SoldOut, ValidationFailed
from eltiketi_core.usecases import ItemRequest, ReserveRequest
from tests.unit.usecases.conftest import Sale, buyer


async def test_five_hundred_buyers_for_a_hundred_tickets(sale: Sale) -> None:
    results = await asyncio.gather(
        *(sale.hold(buyer(f"b{i}")) for i in range(500)), return_exceptions=True
    )
    held = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, SoldOut)]
    assert len(held) == 100
    assert len(refused) == 400
    assert await sale.levels() == (100, 100, 0)


async def test_a_booking_of_several_types_is_all_or_nothing(sale_factory) -> None:  # type: ignore[no-untyped-def]
    sale: Sale = await sale_factory(capacity=3)
    await sale.hold(buyer("bob"), 3, sale.seated)
    request = ReserveRequest(
        event_id=sale.event.id,
        items=(
            ItemRequest(ticket_type_id=sale.standing.id, quantity=2),
            ItemRequest(ticket_type_id=sale.seated.id, quantity=1),
        ),
    )
    with pytest.raises(SoldOut):
        await sale.kit.core.bookings.reserve(buyer("alice"), request)
    assert await sale.levels(sale.standing) == (3, 0, 0)
    assert await sale.levels(sale.seated) == (3, 3, 0)


async def test_expired_holds_are_released_for_the_next_buyer(sale_factory) -> None:  # type: ignore[no-untyped-def]
    sale: Sale = await sale_factory(capacity=2)
    first = await sale.hold(buyer("alice"), 2)
    with pytest.raises(SoldOut):
        await sale.hold(buyer("bob"), 1)
    sale.clock.advance(timedelta(minutes=15))
    await sale.hold(buyer("bob"), 1)  # no sweeper ran: the reservation released it
    assert (
        await sale.kit.core.bookings.get(buyer("alice"), first.id)
    ).status is BookingStatus.EXPIRED
    assert await sale.levels() == (2, 1, 0)
    await sale.kit.drain()
    async with sale.kit.uow() as uow:
        types = [e.event.type for e in await uow.outbox.pending(limit=100)]
    assert types == []  # BookingExpired went out with the rest


async def test_the_sweeper_releases_each_expired_hold_once(sale: Sale) -> None:
    for i in range(5):
        await sale.hold(buyer(f"b{i}"), 2)
    sale.clock.advance(timedelta(minutes=15))
    released = await asyncio.gather(*(sale.kit.core.sweeper.sweep() for _ in range(3)))
    assert sum(released) == 5
    assert await sale.levels() == (100, 0, 0)


@pytest.mark.parametrize(
    ("quantity", "code"),
    [(0, "invalid_quantity"), (-1, "invalid_quantity"), (11, "quantity_above_limit")],
)
async def test_quantities_out_of_bounds_are_refused(sale: Sale, quantity: int, code: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        await sale.hold(buyer(), quantity)
    assert err.value.code == code
    assert await sale.levels() == (100, 0, 0)


async def test_the_per_buyer_limit_counts_holds_and_purchases(sale: Sale) -> None:
    alice = buyer()
    await sale.buy(alice, 6)
    await sale.hold(alice, 4)
    with pytest.raises(ValidationFailed) as err:
        await sale.hold(alice, 1, sale.seated)
    assert err.value.code == "buyer_limit_exceeded"
    await sale.hold(buyer("bob"), 1)  # other buyers are not affected


async def test_unknown_and_foreign_ids_are_refused(sale: Sale) -> None:
    core = sale.kit.core
    with pytest.raises(NotFound):
        await core.bookings.reserve(
            buyer(),
            ReserveRequest(
                event_id=uuid4(), items=(ItemRequest(ticket_type_id=sale.standing.id, quantity=1),)
            ),
        )
    with pytest.raises(ValidationFailed) as err:
        await core.bookings.reserve(
            buyer(),
            ReserveRequest(
                event_id=sale.event.id, items=(ItemRequest(ticket_type_id=uuid4(), quantity=1),)
            ),
        )
    assert err.value.code == "unknown_ticket_type"
    booking = await sale.hold(buyer("alice"))
    with pytest.raises(NotFound):
        await core.bookings.get(buyer("mallory"), booking.id)
    with pytest.raises(NotFound):
        await core.bookings.release(buyer("mallory"), booking.id)
    with pytest.raises(NotFound):
        await core.payments.start(buyer("mallory"), booking.id)


async def test_a_request_contact_overrides_the_token(sale: Sale) -> None:
    request = ReserveRequest(
        event_id=sale.event.id,
        items=(ItemRequest(ticket_type_id=sale.standing.id, quantity=1),),
        contact=Contact(phone="+491701234567"),
    )
    reservation = await sale.kit.core.bookings.reserve(buyer(), request)
    assert reservation.booking.contact == Contact(phone="+491701234567")


async def test_release_gives_stock_back_once(sale: Sale) -> None:
    alice = buyer()
    booking = await sale.hold(alice, 4)
    await sale.kit.core.bookings.release(alice, booking.id)
    await sale.kit.core.bookings.release(alice, booking.id)
    assert await sale.levels() == (100, 0, 0)


class TestIdempotencyKey:
    def request(self, sale: Sale, quantity: int = 1) -> ReserveRequest:
        return ReserveRequest(
            event_id=sale.event.id,
            items=(ItemRequest(ticket_type_id=sale.standing.id, quantity=quantity),),
        )

    async def test_the_same_key_and_body_replay_the_first_answer(self, sale: Sale) -> None:
        alice = buyer()
        first = await sale.kit.core.bookings.reserve(
            alice, self.request(sale), idempotency_key="k1"
        )
        sale.clock.advance(5)
        again = await sale.kit.core.bookings.reserve(
            alice, self.request(sale), idempotency_key="k1"
        )
        assert again.replayed and not first.replayed
        assert again.booking == first.booking
        assert await sale.levels() == (100, 1, 0)

    async def test_the_same_key_with_another_body_is_refused(self, sale: Sale) -> None:
        alice = buyer()
        await sale.kit.core.bookings.reserve(alice, self.request(sale), idempotency_key="k1")
        with pytest.raises(ValidationFailed) as err:
            await sale.kit.core.bookings.reserve(alice, self.request(sale, 2), idempotency_key="k1")
        assert err.value.code == "idempotency_key_reused"

    async def test_keys_belong_to_their_user(self, sale: Sale) -> None:
        await sale.kit.core.bookings.reserve(
            buyer("alice"), self.request(sale), idempotency_key="k"
        )
        bob = await sale.kit.core.bookings.reserve(
            buyer("bob"), self.request(sale), idempotency_key="k"
        )
        assert not bob.replayed

    async def test_concurrent_retries_make_one_booking(self, sale: Sale) -> None:
        alice = buyer()
        results = await asyncio.gather(
            *(
                sale.kit.core.bookings.reserve(alice, self.request(sale), idempotency_key="k")
                for _ in range(10)
            ),
            return_exceptions=True,
        )
        bookings = {r.booking.id for r in results if not isinstance(r, BaseException)}
        assert len(bookings) == 1
        assert all(
            isinstance(r, Conflict) and r.code == "idempotency_in_flight"
            for r in results
            if isinstance(r, BaseException)
        )
        assert await sale.levels() == (100, 1, 0)


async def test_sales_stop_for_cancelled_and_started_events(sale: Sale) -> None:
    organizer = Principal(subject="olga", roles=frozenset({"organizer"}))
    sale.clock.advance(timedelta(days=31))
    with pytest.raises(Conflict) as err:
        await sale.hold(buyer())
    assert err.value.code == "sales_closed"
    await sale.kit.core.cancellation.cancel(organizer, sale.event.id)
    with pytest.raises(DomainError) as cancelled:
        await sale.hold(buyer())
    assert cancelled.value.code == "event_cancelled"
