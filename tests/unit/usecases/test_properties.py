"""Property: no interleaving of buyer, gateway, sweeper and organizer actions breaks the
inventory invariant or the per-buyer limit, confirms a booking twice, or loses a ticket.

Reservations run concurrently inside a group go through the batcher, so they form
batches of their own accord; ``batch`` runs several as one batch on purpose (the
group commit of holds), where each must get the answer it would get alone."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eltiketi_adapters.memory import InMemoryTicketing
from eltiketi_core.domain.booking import BookingStatus
from eltiketi_core.domain.order import OrderStatus, StockState
from eltiketi_core.errors import DomainError
from eltiketi_core.ports.payments import WebhookKind
from eltiketi_core.usecases.policy import Policy
from eltiketi_core.usecases.reservation import ItemRequest, ReserveRequest
from tests.unit.usecases.conftest import ORGANIZER, Sale, buyer, make_sale

BUYERS = [buyer(name) for name in ("ana", "ben", "cem")]
#: Small enough that buyers run into it (capacity is 5 per type, 10 in all).
MAX_PER_BUYER = 4

hold_wish = st.tuples(st.integers(0, 2), st.integers(0, 1), st.integers(1, 3))

op = st.one_of(
    st.tuples(st.just("reserve"), st.integers(0, 2), st.integers(0, 1), st.integers(1, 3)),
    st.tuples(st.just("batch"), st.lists(hold_wish, min_size=2, max_size=4)),
    st.tuples(st.just("release"), st.integers(0, 30)),
    st.tuples(st.just("pay"), st.integers(0, 30)),
    st.tuples(st.just("approve"), st.integers(0, 30)),
    st.tuples(st.just("decline"), st.integers(0, 30)),
    st.tuples(st.just("confirm"), st.integers(0, 30)),
    st.tuples(st.just("webhook"), st.integers(0, 30)),
    st.tuples(st.just("refund"), st.integers(0, 30)),
    st.tuples(st.just("advance"), st.integers(1, 20)),
    st.tuples(st.just("sweep")),
    st.tuples(st.just("drain")),
    st.tuples(st.just("cancel_event")),
)
# Each inner list runs concurrently; the outer list runs in order.
scenarios = st.lists(st.lists(op, min_size=1, max_size=4), min_size=1, max_size=25)


class World:
    def __init__(self, sale: Sale) -> None:
        self.sale = sale
        self.bookings: list[tuple[int, object]] = []  # (buyer index, booking)
        self.payments: dict[int, object] = {}
        self.orders: list[tuple[int, object]] = []

    def pick(self, items: list, index: int):  # type: ignore[no-untyped-def, type-arg]
        return items[index % len(items)] if items else None

    async def run(self, step: tuple) -> None:  # type: ignore[type-arg]
        core = self.sale.kit.core
        kind = step[0]
        if kind == "reserve":
            _, who, type_index, quantity = step
            tt = (self.sale.standing, self.sale.seated)[type_index]
            booking = await self.sale.hold(BUYERS[who], quantity, tt)
            self.bookings.append((who, booking))
        elif kind == "batch":
            wishes = step[1]
            requests = [
                (
                    BUYERS[who],
                    ReserveRequest(
                        event_id=self.sale.event.id,
                        items=(
                            ItemRequest(
                                ticket_type_id=(self.sale.standing, self.sale.seated)[t].id,
                                quantity=q,
                            ),
                        ),
                    ),
                )
                for who, t, q in wishes
            ]
            answers = await core.bookings.reserve_together(requests)
            for (who, _, _), answer in zip(wishes, answers, strict=True):
                if not isinstance(answer, DomainError):
                    self.bookings.append((who, answer))
        elif kind in {"release", "pay", "approve", "decline", "confirm", "webhook"}:
            picked = self.pick(self.bookings, step[1])
            if picked is None:
                return
            who, booking = picked
            principal = BUYERS[who]
            if kind == "release":
                await core.bookings.release(principal, booking.id)  # type: ignore[attr-defined]
            elif kind == "pay":
                payment = await core.payments.start(principal, booking.id)  # type: ignore[attr-defined]
                self.payments[step[1] % len(self.bookings)] = payment
            else:
                payment = self.payments.get(step[1] % len(self.bookings))
                if payment is None:
                    return
                reference = payment.provider_reference  # type: ignore[attr-defined]
                gateway = self.sale.kit.gateway
                if kind == "approve":
                    gateway.approve(reference)
                elif kind == "decline":
                    gateway.decline(reference)
                elif kind == "confirm":
                    confirmation = await core.settlement.confirm(principal, booking.id, payment.id)  # type: ignore[attr-defined]
                    self.orders.append((who, confirmation.order))
                else:
                    body, headers = gateway.signed_webhook(WebhookKind.PAYMENT_SUCCEEDED, reference)
                    await core.settlement.handle_webhook("fake", body, headers)
        elif kind == "refund":
            picked = self.pick(self.orders, step[1])
            if picked is not None:
                await core.orders.cancel(BUYERS[picked[0]], picked[1].id)  # type: ignore[attr-defined]
        elif kind == "advance":
            self.sale.clock.advance(timedelta(minutes=step[1]))
        elif kind == "sweep":
            await core.sweeper.sweep()
        elif kind == "drain":
            await self.sale.kit.drain()
        elif kind == "cancel_event":
            await core.cancellation.cancel(ORGANIZER, self.sale.event.id)
            await self.sale.kit.run_jobs()  # the background job, interleaved with the rest


async def check_counters(sale: Sale) -> None:
    for tt in (sale.standing, sale.seated):
        capacity, held, sold = await sale.levels(tt)
        assert held >= 0 and sold >= 0
        assert held + sold <= capacity


async def check_buyer_limit(sale: Sale) -> None:
    """No buyer ever holds (unexpired) or bought (unrefunded) more than the limit."""
    now = sale.clock.now()
    async with sale.kit.uow() as uow:
        counted = await uow.bookings.active_quantities(
            [b.subject for b in BUYERS], sale.event.id, now
        )
    assert all(n <= MAX_PER_BUYER for n in counted.values()), counted


async def check_conservation(sale: Sale) -> None:
    """After everything settled: the counters are exactly what bookings and orders say."""
    storage = sale.kit.storage
    for tt in (sale.standing, sale.seated):
        _, held, sold = await sale.levels(tt)
        held_by_bookings = sum(
            item.quantity
            for b in storage.bookings.values()
            if b.status is BookingStatus.HELD
            for item in b.items
            if item.ticket_type_id == tt.id
        )
        by_stock = dict.fromkeys(StockState, 0)
        for order in storage.orders.values():
            for item in order.items:
                if item.ticket_type_id == tt.id:
                    by_stock[order.stock] += item.quantity
        assert held == held_by_bookings + by_stock[StockState.HELD]
        assert sold == by_stock[StockState.SOLD]
    orders_per_booking: dict[object, int] = {}
    for order in storage.orders.values():
        orders_per_booking[order.booking_id] = orders_per_booking.get(order.booking_id, 0) + 1
        tickets = [t for t in storage.tickets.values() if t.order_id == order.id]
        assert len(tickets) == sum(i.quantity for i in order.items)
        if order.status is OrderStatus.CONFIRMED:
            assert order.stock is StockState.SOLD  # everything was drained
    assert all(count == 1 for count in orders_per_booking.values())
    for booking in storage.bookings.values():
        if booking.status is BookingStatus.CONFIRMED:
            assert orders_per_booking.get(booking.id) == 1
    for payment in sale.kit.gateway.payments.values():
        assert sum(payment.refunds.values()) <= payment.amount.amount


async def play(scenario: list[list[tuple]]) -> None:  # type: ignore[type-arg]
    kit = InMemoryTicketing(policy=Policy(max_tickets_per_buyer=MAX_PER_BUYER))
    sale = await make_sale(kit, capacity=5, max_per_booking=3)
    world = World(sale)
    for group in scenario:
        results = await asyncio.gather(*(world.run(step) for step in group), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, DomainError):
                raise result
        await check_counters(sale)
        await check_buyer_limit(sale)
    sale.clock.advance(timedelta(hours=1))
    await sale.kit.core.sweeper.sweep()
    await sale.kit.run_jobs()
    await sale.kit.drain()
    await check_counters(sale)
    await check_conservation(sale)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios)
def test_random_interleavings_keep_every_invariant(scenario: list[list[tuple]]) -> None:  # type: ignore[type-arg]
    # A private loop, never installed as the thread's current one: asyncio.run()
    # would reset it afterwards and strand the suite's session loop.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(play(scenario))
    finally:
        loop.close()
