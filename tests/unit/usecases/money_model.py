"""A model of money and stock: random sequences of the public use cases, checked after each step.

:class:`MoneyMachine` is a hypothesis ``RuleBasedStateMachine`` over the real core. Its rules are
what buyers, the payment provider, the clock, the organizer and the door staff do: hold tickets
(paid or free), release them, start payments (a second one after the first failed), pay or
decline at the gateway (also paying a declined payment later, as Stripe allows), deliver the
gateway's webhooks (and deliver one again), confirm, let holds expire, cancel an order or the
whole event, check tickets in, resend e-tickets. After every step the outbox is relayed to the
handlers in-process, and the invariants say what must hold whatever happened:

* stock: ``held + sold <= capacity``, ``held`` is what live holds own, ``sold`` what confirmed
  orders own, each order has one ticket per seat and its tickets are valid exactly while it is
  confirmed, and a booking has at most one order;
* money: every payment the gateway captured and the core has heard of ends as exactly one of
  (the order it paid, kept) or (one refund) — so money in = orders kept + refunds, and no payment
  is refunded twice; a payment the core has not heard of yet belongs to a live hold; a hold that
  ended leaves nothing payable at the gateway; every refund decided was executed, once;
* nothing was dead-lettered.

The same machine runs on the in-memory testing kit (``test_money_model.py``) and on PostgreSQL
(``tests/integration/app_persistence/test_money_model_postgres.py``); :class:`Shop` takes any
unit-of-work factory.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from eltiketi_adapters.memory import (
    KIT_ORGANIZER,
    KIT_STAFF,
    FakePaymentGateway,
    FixedClock,
    HmacTicketSigner,
    InProcessBus,
    RecordingNotifier,
    TimeOrderedIds,
)
from eltiketi_core.domain.booking import Booking, BookingStatus
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.order import Order, OrderStatus, StockState, TicketStatus
from eltiketi_core.domain.payment import Payment, PaymentStatus, Refund, RefundStatus
from eltiketi_core.errors import DomainError
from eltiketi_core.ports.payments import GatewayPaymentStatus, WebhookKind
from eltiketi_core.ports.uow import UnitOfWorkFactory
from eltiketi_core.usecases import ItemRequest, NewEvent, NewTicketType, Policy, ReserveRequest
from eltiketi_core.usecases.facade import Ticketing
from eltiketi_core.usecases.relay import OutboxRelay

T = TypeVar("T")

PRICE = Money(4500, "EUR")
FREE = Money(0, "EUR")
PAID_CAPACITY = 2
FREE_CAPACITY = 2
BUYERS = tuple(Principal(subject=n, email=f"{n}@example.org") for n in ("ana", "ben"))
MAX_BOOKINGS = 5
"""Few bookings, so the rules keep meeting the same ones (a second payment, a late one)."""
HOLD_TTL = timedelta(minutes=15)
LATE = 15
"""Steps before the organizer may cancel the event (which ends most stories)."""


@dataclass
class Shop:
    """The core over one storage, with the testing kit's gateway, clock and notifier, and an
    in-process relay whose handlers run after each step."""

    uow: UnitOfWorkFactory
    clock: FixedClock = field(default_factory=lambda: FixedClock(datetime(2030, 1, 1, tzinfo=UTC)))
    gateway: FakePaymentGateway = field(default_factory=FakePaymentGateway)

    def __post_init__(self) -> None:
        self.core = Ticketing(
            uow=self.uow,
            clock=self.clock,
            ids=TimeOrderedIds(),
            gateway=self.gateway,
            signer=HmacTicketSigner(),
            notifiers=[RecordingNotifier("email")],
            policy=Policy(hold_ttl=HOLD_TTL, resend_interval=timedelta(0)),
        )
        self.bus = InProcessBus(self.core.handlers, backoff_seconds=0, concurrency=1)
        self.relay = OutboxRelay(self.uow, self.bus, self.clock)


@dataclass(frozen=True)
class Held:
    """A booking the machine made, and whose it is."""

    who: int
    booking_id: UUID


@dataclass(frozen=True)
class Started:
    """A payment the machine started, and its gateway reference."""

    who: int
    booking_id: UUID
    payment_id: UUID
    reference: str


class MoneyMachine(RuleBasedStateMachine):
    """Subclasses set :meth:`make_shop` (a fresh storage per example) and may tear it down."""

    bookings = Bundle("bookings")
    payments = Bundle("payments")

    def __init__(self) -> None:
        super().__init__()
        self.loop = self.event_loop()
        self.shop = self.run(self.make_shop())
        self.made: list[Held] = []
        self.deliveries: list[tuple[bytes, dict[str, str]]] = []
        self.event_cancelled = False
        self.steps = 0
        self.refusals: Counter[str] = Counter()

    # -- what a subclass provides ---------------------------------------------------------------

    def event_loop(self) -> asyncio.AbstractEventLoop:
        raise NotImplementedError

    async def make_shop(self) -> Shop:
        raise NotImplementedError

    # -- plumbing -----------------------------------------------------------------------------------

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    def act(self, work: Callable[[], Awaitable[T]]) -> T | None:
        """One step: a refusal (a domain error) is an answer, not a failure; then the
        handlers run, as the relay would run them right after the commit."""

        self.steps += 1

        async def step() -> T | None:
            try:
                return await work()
            except DomainError as refused:
                self.refusals[refused.code] += 1
                return None
            finally:
                await self.shop.relay.drain()

        return self.run(step())

    @property
    def core(self) -> Ticketing:
        return self.shop.core

    # -- setup ------------------------------------------------------------------------------------

    @initialize()
    def open_the_sale(self) -> None:
        async def create() -> None:
            catalog = self.core.catalog
            event = await catalog.create_event(
                KIT_ORGANIZER,
                NewEvent(
                    name="Model Night",
                    venue="Arena",
                    starts_at=self.shop.clock.now() + timedelta(days=30),
                    timezone="Europe/Berlin",
                ),
            )
            paid = await catalog.add_ticket_type(
                KIT_ORGANIZER,
                event.id,
                NewTicketType(name="Paid", price=PRICE, capacity=PAID_CAPACITY),
            )
            free = await catalog.add_ticket_type(
                KIT_ORGANIZER,
                event.id,
                NewTicketType(name="Free", price=FREE, capacity=FREE_CAPACITY),
            )
            await catalog.publish(KIT_ORGANIZER, event.id)
            self.event_id, self.paid_type, self.free_type = event.id, paid.id, free.id

        self.run(create())

    # -- buyers -------------------------------------------------------------------------------------

    @precondition(lambda self: len(self.made) < MAX_BOOKINGS)
    @rule(
        target=bookings,
        who=st.integers(0, len(BUYERS) - 1),
        free=st.booleans(),
        quantity=st.integers(1, 2),
    )
    def reserve(self, who: int, free: bool, quantity: int) -> Any:
        request = ReserveRequest(
            event_id=self.event_id,
            items=(
                ItemRequest(
                    ticket_type_id=self.free_type if free else self.paid_type, quantity=quantity
                ),
            ),
        )
        made = self.act(lambda: self.core.bookings.reserve(BUYERS[who], request))
        if made is None:
            return multiple()
        held = Held(who, made.booking.id)
        self.made.append(held)
        return held

    @rule(held=bookings)
    def release(self, held: Held) -> None:
        self.act(lambda: self.core.bookings.release(BUYERS[held.who], held.booking_id))

    @rule(target=payments, held=bookings)
    def start_payment(self, held: Held) -> Any:
        payment = self.act(lambda: self.core.payments.start(BUYERS[held.who], held.booking_id))
        if payment is None or payment.provider_reference is None:
            return multiple()
        return Started(held.who, held.booking_id, payment.id, payment.provider_reference)

    @rule(paid=payments)
    def confirm(self, paid: Started) -> None:
        self.act(
            lambda: self.core.settlement.confirm(BUYERS[paid.who], paid.booking_id, paid.payment_id)
        )

    @rule(held=bookings)
    def confirm_without_payment(self, held: Held) -> None:
        """``POST /v1/orders`` without a payment id: only a free booking confirms so."""
        self.act(lambda: self.core.settlement.confirm(BUYERS[held.who], held.booking_id, None))

    @rule(held=bookings)
    def cancel_order(self, held: Held) -> None:
        async def cancel() -> None:
            order = await self._order_of(held.booking_id)
            if order is not None:
                await self.core.orders.cancel(BUYERS[held.who], order.id)

        self.act(cancel)

    @rule(held=bookings)
    def resend(self, held: Held) -> None:
        async def resend() -> None:
            order = await self._order_of(held.booking_id)
            if order is not None:
                await self.core.notifications.resend_tickets(BUYERS[held.who], order.id)

        self.act(resend)

    # -- the payment provider -----------------------------------------------------------------------

    @rule(paid=payments, after_decline=st.booleans(), notify=st.booleans())
    def pay_at_gateway(self, paid: Started, after_decline: bool, notify: bool) -> None:
        """The buyer pays (also, with ``after_decline``, a payment declined before); with
        ``notify`` the gateway's success webhook arrives at once."""

        async def pay() -> None:
            self.shop.gateway.approve(paid.reference, after_decline=after_decline)
            if notify:
                await self._deliver(WebhookKind.PAYMENT_SUCCEEDED, paid.reference)

        self.act(pay)

    @rule(paid=payments)
    def paid_as_the_hold_ends(self, paid: Started) -> None:
        """The buyer pays in the hold's last second and the provider's notice is late: the
        hold has expired (not yet swept) when anyone hears of the money."""

        async def pay_late() -> None:
            self.shop.gateway.approve(paid.reference)
            self.shop.clock.advance(HOLD_TTL + timedelta(seconds=1))

        self.act(pay_late)

    @rule(paid=payments, notify=st.booleans())
    def decline_at_gateway(self, paid: Started, notify: bool) -> None:
        async def decline() -> None:
            self.shop.gateway.decline(paid.reference)
            if notify:
                await self._deliver(WebhookKind.PAYMENT_FAILED, paid.reference)

        self.act(decline)

    @rule(
        paid=payments,
        kind=st.sampled_from([WebhookKind.PAYMENT_SUCCEEDED, WebhookKind.PAYMENT_FAILED]),
    )
    def webhook(self, paid: Started, kind: WebhookKind) -> None:
        """A webhook on its own: late, out of order, or about a payment that changed since."""
        self.act(lambda: self._deliver(kind, paid.reference))

    async def _deliver(self, kind: WebhookKind, reference: str) -> None:
        gateway = self.shop.gateway
        body, headers = gateway.signed_webhook(kind, reference)
        self.deliveries.append((body, headers))
        await self.core.settlement.handle_webhook(gateway.provider, body, headers)

    @precondition(lambda self: bool(self.deliveries))
    @rule(pick=st.integers(0, 1000))
    def webhook_again(self, pick: int) -> None:
        body, headers = self.deliveries[pick % len(self.deliveries)]
        provider = self.shop.gateway.provider
        self.act(lambda: self.core.settlement.handle_webhook(provider, body, headers))

    # -- time, organizer, door ----------------------------------------------------------------------

    @rule(minutes=st.sampled_from([5, 10, 16]), sweep=st.booleans())
    def time_passes(self, minutes: int, sweep: bool) -> None:
        """The clock moves on (holds last 15 minutes); the sweeper ends the expired holds, or
        has not run yet — then a reservation short of stock ends them itself."""
        self.shop.clock.advance(timedelta(minutes=minutes))
        self.act(self.core.sweeper.sweep if sweep else _sync(lambda: None))

    @precondition(lambda self: not self.event_cancelled and self.steps >= LATE)
    @rule(go=st.integers(0, 2))
    def cancel_event(self, go: int) -> None:
        if go != 0:  # late and rare: a cancelled event ends most of the story
            return
        self.event_cancelled = True

        async def cancel() -> None:
            await self.core.cancellation.cancel(KIT_ORGANIZER, self.event_id)
            while await self.core.jobs.run_due():  # the cancellation's background job
                pass

        self.act(cancel)

    @rule(held=bookings)
    def check_in(self, held: Held) -> None:
        async def scan() -> None:
            order = await self._order_of(held.booking_id)
            if order is None:
                return
            async with self.shop.uow() as uow:
                tickets = await uow.tickets.for_order(order.id)
            if tickets:
                await self.core.checkins.check_in(KIT_STAFF, tickets[0].token, self.event_id)

        self.act(scan)

    # -- invariants ---------------------------------------------------------------------------------

    @invariant()
    def nothing_dead_lettered(self) -> None:
        assert self.shop.bus.dead_letters == [], self.shop.bus.dead_letters

    @invariant()
    def stock_and_money_balance(self) -> None:
        if not hasattr(self, "event_id"):
            return
        self.run(self._check())

    async def _check(self) -> None:
        snapshot = await self._snapshot()
        _check_stock(self, snapshot)
        _check_money(self, snapshot)

    async def _order_of(self, booking_id: UUID) -> Order | None:
        async with self.shop.uow() as uow:
            return await uow.orders.for_booking(booking_id)

    async def _snapshot(self) -> Snapshot:
        snapshot = Snapshot()
        async with self.shop.uow() as uow:
            snapshot.levels = {
                type_id: (level.capacity, level.held, level.sold)
                for type_id, level in (
                    await uow.inventory.levels([self.paid_type, self.free_type])
                ).items()
            }
            for held in self.made:
                booking = await uow.bookings.get(held.booking_id)
                assert booking is not None
                snapshot.bookings[booking.id] = booking
                snapshot.payments[booking.id] = await uow.payments.for_booking(booking.id)
                for payment in snapshot.payments[booking.id]:
                    snapshot.refunds[payment.id] = await uow.refunds.for_payment(payment.id)
            for order in await uow.orders.list_for_event(self.event_id, limit=10_000):
                snapshot.orders.append(order)
                snapshot.tickets[order.id] = [
                    t.status for t in await uow.tickets.for_order(order.id)
                ]
        return snapshot


@dataclass
class Snapshot:
    """What the stores say after a step (read through the ports, so any adapter will do)."""

    levels: dict[UUID, tuple[int, int, int]] = field(default_factory=dict)
    bookings: dict[UUID, Booking] = field(default_factory=dict)
    payments: dict[UUID, list[Payment]] = field(default_factory=dict)
    refunds: dict[UUID, list[Refund]] = field(default_factory=dict)
    orders: list[Order] = field(default_factory=list)
    tickets: dict[UUID, list[TicketStatus]] = field(default_factory=dict)


def _check_stock(machine: MoneyMachine, snapshot: Snapshot) -> None:
    per_booking = Counter(order.booking_id for order in snapshot.orders)
    assert all(count == 1 for count in per_booking.values()), f"two orders: {per_booking}"
    for type_id, (capacity, held, sold) in snapshot.levels.items():
        assert held >= 0 and sold >= 0 and held + sold <= capacity, (type_id, held, sold)
        held_by_holds = sum(
            item.quantity
            for booking in snapshot.bookings.values()
            if booking.status is BookingStatus.HELD
            for item in booking.items
            if item.ticket_type_id == type_id
        )
        kept = sum(
            item.quantity
            for order in snapshot.orders
            if order.status is OrderStatus.CONFIRMED
            for item in order.items
            if item.ticket_type_id == type_id
        )
        assert (held, sold) == (held_by_holds, kept), (
            f"counters {held=} {sold=}, holds own {held_by_holds}, orders own {kept}"
        )
    for order in snapshot.orders:
        seats = sum(item.quantity for item in order.items)
        wanted = TicketStatus.VALID if order.status is OrderStatus.CONFIRMED else TicketStatus.VOID
        assert snapshot.tickets[order.id] == [wanted] * seats, (order, snapshot.tickets[order.id])
        expected_stock = (
            StockState.SOLD if order.status is OrderStatus.CONFIRMED else StockState.RELEASED
        )
        assert order.stock is expected_stock, order
        booking = snapshot.bookings[order.booking_id]
        assert booking.status is BookingStatus.CONFIRMED, (booking, order)


def _check_money(machine: MoneyMachine, snapshot: Snapshot) -> None:
    gateway = machine.shop.gateway
    kept_by_payment = {
        order.payment_id: order
        for order in snapshot.orders
        if order.status is OrderStatus.CONFIRMED and order.payment_id is not None
    }
    orders_by_payment = {o.payment_id: o for o in snapshot.orders if o.payment_id is not None}
    captured = kept = refunded = in_flight = 0
    for booking_id, payments in snapshot.payments.items():
        booking = snapshot.bookings[booking_id]
        for payment in payments:
            assert payment.provider_reference is not None, payment
            at_gateway = gateway.payment(payment.provider_reference)
            refunds = snapshot.refunds[payment.id]
            context = (payment, at_gateway, refunds, orders_by_payment.get(payment.id))
            assert len(refunds) <= 1, f"refunded twice: {context}"
            for refund in refunds:
                assert refund.status is RefundStatus.SUCCEEDED, f"refund not executed: {context}"
                assert refund.amount == payment.amount, context
            assert at_gateway.refunded == sum(r.amount.amount for r in refunds), context
            heard = payment.status in {PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED}
            if heard:
                assert at_gateway.status is GatewayPaymentStatus.SUCCEEDED, context
            if at_gateway.status is not GatewayPaymentStatus.SUCCEEDED:
                assert not refunds and payment.id not in orders_by_payment, context
                if booking.status is not BookingStatus.HELD:
                    # a hold that ended (or was confirmed by another payment) leaves
                    # nothing a buyer could still pay
                    assert at_gateway.status is GatewayPaymentStatus.CANCELLED, (
                        f"still payable after the hold ended: {context}"
                    )
                    assert payment.status is PaymentStatus.CANCELLED, context
                continue
            captured += payment.amount.amount
            if not heard:
                assert booking.status is BookingStatus.HELD, f"paid, never settled: {context}"
                in_flight += payment.amount.amount
                continue
            # One payment, one fate: the order it paid (kept), or one refund.
            kept_order = kept_by_payment.get(payment.id)
            assert (kept_order is not None) + len(refunds) == 1, (
                f"one payment, one fate (kept order or one refund): {context}"
            )
            expected = PaymentStatus.SUCCEEDED if kept_order else PaymentStatus.REFUNDED
            assert payment.status is expected, context
            if kept_order is not None:
                assert kept_order.total == payment.amount, context
                kept += kept_order.total.amount
            refunded += sum(r.amount.amount for r in refunds)
    assert captured == kept + refunded + in_flight, (captured, kept, refunded, in_flight)
    for order in snapshot.orders:
        if order.payment_id is None:
            assert order.total.amount == 0, f"an order without payment must be free: {order}"


def _sync(call: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    async def wrapped() -> None:
        call()

    return wrapped
