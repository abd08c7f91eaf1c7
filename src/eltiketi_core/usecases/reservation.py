"""Group commit of holds: the reservations in flight together share one transaction.

Every on-sale request for a hot ticket type waits on that type's stock row anyway,
so a reservation that arrives while another is in its transaction waits for it
and then goes with the others that arrived meanwhile: one transaction, one
conditional change of the stock per ticket type for the whole batch, multi-row
writes, one commit. Each request still gets the answer it would have got running
alone, in arrival order (``docs/inventory.md`` says why that holds).

The pieces, in the order a batch uses them:

* :class:`HoldBatcher` collects the requests of one *lane* (an event; the whole
  database where writes are serialised anyway) and starts a batch at once when
  the lane is idle, otherwise when the running one ends, when ``max_size`` wait,
  or after ``max_wait`` — never later.
* :class:`ReservationBatch` runs one batch: per event, the sale is opened for
  every buyer at once, then each request passes the :class:`HoldCheck` list in
  arrival order against a shared :class:`Tally` (sale rules, re-hold cool-down,
  per-buyer limit, stock); the admitted ones are written together and the stock
  is taken last, one :meth:`~eltiketi_core.ports.stores.InventoryStore.take` per
  ticket type in id order.
* The stock is taken *optimistically*: checks assume it is there, and if a type's
  conditional take fails the transaction is rolled back and the batch runs again
  *carefully*: the stock is locked and read first (expired holds of a short type
  released in the same transaction), and the stock check refuses exactly the
  requests that would not fit in arrival order. A lane whose last batch was short
  starts careful.
* If a batch fails for a reason that is not a request's own answer (a database
  error, a bug), each of its requests runs again alone, so one cannot poison the
  others.

* An Idempotency-Key another process committed first rolls the batch back: that
  request replays the other's answer, the rest run again without it.

A rule checked per request inside the reservation (an admission pass, a code with
counted uses) is one more :class:`HoldCheck`: ``prepare`` reads what the batch
needs in bulk, ``check`` refuses a request, ``count`` books what an admitted one
uses in the tally that later requests are checked against, ``record`` writes what
the kept ones used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Sequence
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

import msgspec

from eltiketi_core.domain.booking import Booking, BookingItem, BookingStatus, Contact
from eltiketi_core.domain.catalog import Event, EventStatus, TicketType
from eltiketi_core.domain.events import BookingCreated
from eltiketi_core.domain.identity import Principal
from eltiketi_core.errors import Conflict, DomainError, HoldCooldown, NotFound, SoldOut
from eltiketi_core.errors import ValidationFailed as Invalid
from eltiketi_core.ports.stores import IdempotencyRecord
from eltiketi_core.ports.uow import UnitOfWork
from eltiketi_core.usecases.core_ports import CorePorts, UseCase
from eltiketi_core.usecases.holds import release_expired
from eltiketi_core.usecases.policy import Policy

logger = logging.getLogger(__name__)


class ItemRequest(msgspec.Struct, frozen=True, kw_only=True):
    ticket_type_id: UUID
    quantity: int


class ReserveRequest(msgspec.Struct, frozen=True, kw_only=True):
    event_id: UUID
    items: tuple[ItemRequest, ...]
    contact: Contact | None = None
    #: the buyer's language in the shop (BCP 47), for the e-tickets; None: the event's
    locale: str | None = None


class KeyTaken(Exception):
    """Another request committed the same Idempotency-Key first: replay its answer."""


class Batching(msgspec.Struct, frozen=True, kw_only=True):
    """How reservations are grouped.

    ``per_event``: a lane per event (PostgreSQL: batches of different events run side
    by side); False: one lane for the whole database (SQLite and the in-memory
    adapter run one write transaction at a time anyway). ``max_size`` requests at
    most per batch; ``max_in_flight`` batches per lane at most. With more than one,
    a request waits at most ``max_wait`` for the lane before a batch starts beside
    the running ones. One is the default: on two cores a second batch in flight made
    batches smaller and each hold dearer (docs/benchmarks.md, issue 17's targets).
    ``max_size = 1`` turns grouping off (every request is a batch of one).
    """

    per_event: bool = True
    max_size: int = 64
    max_wait: timedelta = timedelta(milliseconds=2)
    max_in_flight: int = 1


class PendingHold:
    """One reservation request in a batch, and where its answer goes."""

    __slots__ = ("contact", "future", "idempotency_key", "principal", "request", "request_hash")

    def __init__(
        self,
        principal: Principal,
        request: ReserveRequest,
        contact: Contact,
        *,
        idempotency_key: str | None = None,
        request_hash: str = "",
    ) -> None:
        self.principal = principal
        self.request = request
        self.contact = contact
        self.idempotency_key = idempotency_key
        self.request_hash = request_hash
        self.future: asyncio.Future[Booking] = asyncio.get_running_loop().create_future()

    @property
    def buyer(self) -> str:
        return self.principal.subject

    @property
    def wanted(self) -> int:
        return sum(item.quantity for item in self.request.items)


class Sale:
    """One event's part of a batch, as read once its sale was opened for every buyer."""

    __slots__ = ("event", "now", "types")

    def __init__(self, event: Event | None, types: dict[UUID, TicketType], now: datetime) -> None:
        self.event = event
        self.types = types
        #: read after the sale's locks: never earlier than the sale rules' check
        self.now = now


class Tally:
    """What the requests admitted so far in this batch used, per check; checks keep
    their own counters here (``counters[name][key]``)."""

    __slots__ = ("counters",)

    def __init__(self) -> None:
        self.counters: dict[str, Counter[Hashable]] = {}

    def __getitem__(self, name: str) -> Counter[Hashable]:
        return self.counters.setdefault(name, Counter())


class HoldCheck(Protocol):
    """A rule every reservation passes inside its (batch) transaction, in arrival order."""

    async def prepare(self, uow: UnitOfWork, sale: Sale, holds: Sequence[PendingHold]) -> None:
        """Read what the checks of ``holds`` need, in bulk, after the sale was opened."""
        ...

    def check(self, hold: PendingHold, sale: Sale, tally: Tally) -> None:
        """Raise a :class:`DomainError` to refuse ``hold`` (nothing of it is counted)."""
        ...

    def count(self, hold: PendingHold, sale: Sale, tally: Tally) -> None:
        """``hold`` is admitted: book what it uses, for the requests after it."""
        ...

    async def record(self, uow: UnitOfWork, kept: Sequence[tuple[PendingHold, Booking]]) -> None:
        """Write what the holds kept in this transaction used (a code's uses, with a
        conditional ``UPDATE`` of its own), before the bookings and the stock."""
        ...


class Check:
    """A :class:`HoldCheck` that needs nothing beyond ``check``: the other steps do nothing."""

    async def prepare(self, uow: UnitOfWork, sale: Sale, holds: Sequence[PendingHold]) -> None:
        return None

    def check(self, hold: PendingHold, sale: Sale, tally: Tally) -> None:
        return None

    def count(self, hold: PendingHold, sale: Sale, tally: Tally) -> None:
        return None

    async def record(self, uow: UnitOfWork, kept: Sequence[tuple[PendingHold, Booking]]) -> None:
        return None


class SaleRules(Check):
    """The event on sale, the types its own, quantities per booking, the sale windows."""

    def check(self, hold: PendingHold, sale: Sale, tally: Tally) -> None:
        event = sale.event
        if event is None or event.status is EventStatus.DRAFT:
            raise NotFound("event_not_found", "no such event")
        if event.status is EventStatus.CANCELLED:
            raise Conflict("event_cancelled", "the event is cancelled")
        if event.starts_at <= sale.now:
            raise Conflict("sales_closed", "the event has started")
        for item in hold.request.items:
            ticket_type = sale.types.get(item.ticket_type_id)
            if ticket_type is None or ticket_type.event_id != event.id:
                raise Invalid(
                    "unknown_ticket_type",
                    f"ticket type {item.ticket_type_id} is not part of this event",
                )
            if item.quantity > ticket_type.max_per_booking:
                raise Invalid(
                    "quantity_above_limit",
                    f"at most {ticket_type.max_per_booking} of {ticket_type.name!r} per booking",
                    limit=ticket_type.max_per_booking,
                )
            ticket_type.check_on_sale(sale.now)


class ReholdCooldown(Check):
    """The re-hold throttle (see :class:`Policy`), from the buyers' stored holds.

    Read after the sale took the buyers' locks for this event, so a buyer's own
    concurrent reservations and releases are seen in order. A hold admitted in the
    batch ends nothing, so the tally does not change it.
    """

    def __init__(self, policy: Policy) -> None:
        self._policy = policy
        self._until: dict[str, tuple[datetime, int]] = {}

    async def prepare(self, uow: UnitOfWork, sale: Sale, holds: Sequence[PendingHold]) -> None:
        policy = self._policy
        if policy.rehold_limit <= 0 or sale.event is None:
            return
        found = await uow.bookings.ended_unpaid_of(
            sorted({hold.buyer for hold in holds}),
            sale.event.id,
            since=sale.now - policy.rehold_window,
            limit=policy.rehold_limit,
        )
        for buyer, ended in found.items():
            if len(ended) >= policy.rehold_limit:
                self._until[buyer] = (max(ended) + policy.rehold_cooldown, len(ended))

    def check(self, hold: PendingHold, sale: Sale, tally: Tally) -> None:
        found = self._until.get(hold.buyer)
        if found is None or found[0] <= sale.now:
            return
        until, count = found
        wait = max(1, math.ceil((until - sale.now).total_seconds()))
        raise HoldCooldown(
            "hold_cooldown",
            f"you released or let expire {count} holds for this event recently; "
            f"you can hold tickets for it again in {wait} seconds",
            retry_after=wait,
            until=until.isoformat(),
        )


class BuyerLimit(Check):
    """At most ``max_tickets_per_buyer`` held (unexpired) or bought (unrefunded) per
    buyer and event; two requests of one buyer in one batch count together."""

    def __init__(self, policy: Policy) -> None:
        self._limit = policy.max_tickets_per_buyer
        self._before: dict[str, int] = {}

    async def prepare(self, uow: UnitOfWork, sale: Sale, holds: Sequence[PendingHold]) -> None:
        if sale.event is None:
            return
        self._before = await uow.bookings.active_quantities(
            sorted({hold.buyer for hold in holds}), sale.event.id, sale.now
        )

    def check(self, hold: PendingHold, sale: Sale, tally: Tally) -> None:
        used = self._before.get(hold.buyer, 0) + tally["buyer_limit"][hold.buyer]
        if used + hold.wanted > self._limit:
            raise Invalid(
                "buyer_limit_exceeded",
                f"at most {self._limit} tickets per buyer for this event (you already have {used})",
                limit=self._limit,
            )

    def count(self, hold: PendingHold, sale: Sale, tally: Tally) -> None:
        tally["buyer_limit"][hold.buyer] += hold.wanted


class StockCheck(Check):
    """Careful batches only: the stock locked and read first, then each request takes
    from what the ones before it left (the first short type in id order refuses it)."""

    def __init__(self) -> None:
        self.left: dict[UUID, int] = {}
        #: types that refused a request: their expired holds are worth releasing
        self.short: set[UUID] = set()

    async def prepare(self, uow: UnitOfWork, sale: Sale, holds: Sequence[PendingHold]) -> None:
        wanted = sorted({item.ticket_type_id for hold in holds for item in hold.request.items})
        self.left = await uow.inventory.lock_available([t for t in wanted if t in sale.types])

    def check(self, hold: PendingHold, sale: Sale, tally: Tally) -> None:
        taken = tally["stock"]
        for item in sorted(hold.request.items, key=lambda i: i.ticket_type_id):
            type_id = item.ticket_type_id
            if self.left.get(type_id, 0) - taken[type_id] < item.quantity:
                self.short.add(type_id)
                name = sale.types[type_id].name
                raise SoldOut("sold_out", f"not enough tickets left of {name!r}")

    def count(self, hold: PendingHold, sale: Sale, tally: Tally) -> None:
        for item in hold.request.items:
            tally["stock"][item.ticket_type_id] += item.quantity


class _Shortage(Exception):
    """An optimistic take found too little stock: run the batch again carefully."""


class _KeysTaken(Exception):
    """Idempotency-Keys of these holds (by ``id``) were committed by other requests."""

    def __init__(self, holds: set[int]) -> None:
        super().__init__(f"{len(holds)} idempotency keys taken")
        self.holds = holds


CheckFactory = Callable[[Policy], list[HoldCheck]]


def standard_checks(policy: Policy) -> list[HoldCheck]:
    """The rules every reservation passes, in the order a request alone met them."""
    return [SaleRules(), ReholdCooldown(policy), BuyerLimit(policy)]


class ReservationBatch(UseCase):
    """Runs batches of reservations, one transaction each (see the module's docstring)."""

    def __init__(
        self, ports: CorePorts, policy: Policy, *, checks: CheckFactory = standard_checks
    ) -> None:
        super().__init__(ports)
        self._policy = policy
        self._checks = checks

    async def run(self, holds: Sequence[PendingHold], *, careful: bool = False) -> bool:
        """Answer every hold's future. Returns whether the stock ran short (the lane's
        next batch then starts careful)."""
        live = [hold for hold in holds if not hold.future.done()]
        short = False
        try:
            while live:
                try:
                    answers, refused = await self._transaction(live, careful=careful)
                except _Shortage:
                    if careful:
                        raise  # a take within locked stock failed: not a request's answer
                    careful = short = True
                    continue
                except _KeysTaken as taken:
                    # Another request committed these keys first: they replay its answer,
                    # and the others are decided again without them (what they used of
                    # the tally is not theirs to use).
                    for hold in live:
                        if id(hold) in taken.holds:
                            _answer(hold, KeyTaken())
                    live = [hold for hold in live if id(hold) not in taken.holds]
                    continue
                for hold, answer in zip(live, answers, strict=True):
                    _answer(hold, answer)
                return short or refused
        except Exception as error:
            if len(live) == 1:
                _answer(live[0], error)
                return short
            logger.warning(
                "a batch of %d reservations failed; running each alone", len(live), exc_info=error
            )
            for hold in live:
                short = await self.run([hold], careful=careful or short) or short
        return short

    async def _transaction(
        self, holds: Sequence[PendingHold], *, careful: bool
    ) -> tuple[list[Booking | Exception], bool]:
        """One transaction for ``holds``: their answers, and whether stock refused one."""
        answers: dict[int, Booking | Exception] = {}
        groups: list[tuple[Sequence[HoldCheck], list[tuple[PendingHold, Booking]]]] = []
        outcome = _Outcome()
        async with self._uow() as uow:
            by_event: dict[UUID, list[PendingHold]] = {}
            for hold in holds:
                by_event.setdefault(hold.request.event_id, []).append(hold)
            for event_id in sorted(by_event):
                checks, decided = await self._decide(
                    uow, event_id, by_event[event_id], careful, outcome
                )
                admitted = []
                for hold, answer in decided:
                    answers[id(hold)] = answer
                    if isinstance(answer, Booking):
                        admitted.append((hold, answer))
                groups.append((checks, admitted))
            if await self._write(uow, groups) or outcome.released:
                await uow.commit()
        return [answers[id(hold)] for hold in holds], outcome.short

    async def _decide(
        self,
        uow: UnitOfWork,
        event_id: UUID,
        holds: list[PendingHold],
        careful: bool,
        outcome: _Outcome,
    ) -> tuple[Sequence[HoldCheck], list[tuple[PendingHold, Booking | Exception]]]:
        """Open the event's sale for every buyer and pass each hold through the checks
        (returned with the answers: they write what the kept holds used)."""
        type_ids = sorted({i.ticket_type_id for hold in holds for i in hold.request.items})
        buyers = sorted({hold.buyer for hold in holds})
        found = await uow.catalog.open_for_sale(
            event_id, type_ids, buyer=buyers[0], more_buyers=buyers[1:]
        )
        event, types = found if found is not None else (None, {})
        sale = Sale(event, types, self._clock.now())
        checks = self._checks(self._policy)
        for check in checks:
            await check.prepare(uow, sale, holds)
        if not careful:
            return checks, self._pass(checks, sale, holds)
        stock = StockCheck()
        await stock.prepare(uow, sale, holds)
        decided = self._pass([*checks, stock], sale, holds)
        if stock.short:
            released = False
            for type_id in sorted(stock.short):
                released |= await release_expired(
                    uow, type_id, self._clock.now(), self._ids, self._policy.sweep_batch
                )
            if released:  # stock came back: decide again on the new levels
                outcome.released = True
                stock = StockCheck()
                await stock.prepare(uow, sale, holds)
                decided = self._pass([*checks, stock], sale, holds)
        outcome.short |= bool(stock.short)
        return [*checks, stock], decided

    def _pass(
        self, checks: Sequence[HoldCheck], sale: Sale, holds: Sequence[PendingHold]
    ) -> list[tuple[PendingHold, Booking | Exception]]:
        tally = Tally()
        decided: list[tuple[PendingHold, Booking | Exception]] = []
        for hold in holds:
            try:
                for check in checks:
                    check.check(hold, sale, tally)
                booking = self._booking(hold, sale)  # prices in two currencies: refused
            except DomainError as refusal:
                decided.append((hold, refusal))
                continue
            for check in checks:
                check.count(hold, sale, tally)
            decided.append((hold, booking))
        return decided

    def _booking(self, hold: PendingHold, sale: Sale) -> Booking:
        assert sale.event is not None  # the sale rules refuse a missing event
        items = tuple(
            BookingItem(
                ticket_type_id=item.ticket_type_id,
                quantity=item.quantity,
                unit_price=sale.types[item.ticket_type_id].price,
            )
            for item in hold.request.items
        )
        return Booking(
            id=self._ids.new_id(),
            event_id=sale.event.id,
            buyer=hold.buyer,
            contact=hold.contact,
            items=items,
            total=sum((i.subtotal for i in items[1:]), items[0].subtotal),
            status=BookingStatus.HELD,
            created_at=sale.now,
            expires_at=sale.now + self._policy.hold_ttl,
            locale=hold.request.locale,
        )

    async def _write(
        self,
        uow: UnitOfWork,
        groups: Sequence[tuple[Sequence[HoldCheck], list[tuple[PendingHold, Booking]]]],
    ) -> bool:
        """Write the admitted holds, stock last; whether anything was written. An
        Idempotency-Key another request committed first raises :class:`_KeysTaken`."""
        kept = [pair for _, admitted in groups for pair in admitted]
        keyed = [(hold, booking) for hold, booking in kept if hold.idempotency_key is not None]
        if keyed:
            stored = await uow.idempotency.add_many(
                [
                    IdempotencyRecord(
                        user=hold.buyer,
                        key=hold.idempotency_key,
                        request_hash=hold.request_hash,
                        response=msgspec.json.encode(booking),
                        created_at=booking.created_at,
                    )
                    for hold, booking in keyed
                    if hold.idempotency_key is not None
                ]
            )
            taken = {
                id(hold) for hold, _ in keyed if (hold.buyer, hold.idempotency_key) not in stored
            }
            if taken:
                raise _KeysTaken(taken)
        if not kept:
            return False
        for checks, admitted in groups:
            if admitted:
                for check in checks:
                    await check.record(uow, admitted)
        await uow.bookings.add_many([booking for _, booking in kept])
        for _, booking in kept:
            uow.record(
                BookingCreated(
                    id=self._ids.new_id(),
                    occurred_at=booking.created_at,
                    booking_id=booking.id,
                    event_id=booking.event_id,
                    buyer=booking.buyer,
                    items=booking.items,
                    expires_at=booking.expires_at,
                )
            )
        # Stock last: every buyer of a hot type queues on its row, and the lock taken
        # there lasts until the commit right after it.
        await uow.flush()
        takes: dict[UUID, list[tuple[UUID, int]]] = {}
        for _, booking in kept:
            for item in booking.items:
                takes.setdefault(item.ticket_type_id, []).append((booking.id, item.quantity))
        for type_id in sorted(takes):
            if not await uow.inventory.take(type_id, takes[type_id]):
                raise _Shortage(type_id)
        return True


class _Outcome:
    """What one batch transaction found beyond its answers."""

    __slots__ = ("released", "short")

    def __init__(self) -> None:
        #: expired holds were released (kept even if nothing was admitted: the
        #: sweeper would release them anyway)
        self.released = False
        #: the stock refused a request
        self.short = False


def _answer(hold: PendingHold, answer: Booking | BaseException) -> None:
    if hold.future.done():
        return
    if isinstance(answer, Booking):
        hold.future.set_result(answer)
    else:
        hold.future.set_exception(answer)


class _Lane:
    __slots__ = ("careful", "in_flight", "queue", "timer")

    def __init__(self) -> None:
        self.queue: list[PendingHold] = []
        self.in_flight = 0
        self.timer: asyncio.TimerHandle | None = None
        self.careful = False


BatchObserver = Callable[[int], None]


class HoldBatcher:
    """Groups the reservations of one lane into batches (see :class:`Batching`).

    A request on an idle lane starts its batch at once: grouping costs nothing
    when there is no one to group with. While a batch is in flight the requests
    queue; the queue leaves as the next batch when the running one ends, when it
    holds ``max_size`` requests, or ``max_wait`` after the first queued request —
    whichever comes first (while fewer than ``max_in_flight`` batches run).
    ``on_batch`` hears every batch's size (metrics).
    """

    def __init__(
        self,
        run: Callable[[Sequence[PendingHold], bool], Awaitable[bool]],
        batching: Batching,
        *,
        on_batch: BatchObserver | None = None,
    ) -> None:
        self._run = run
        #: how batches form; may be replaced while running (``Batching(max_size=1)``: off)
        self.batching = batching
        self._lanes: dict[Hashable, _Lane] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.on_batch = on_batch

    async def submit(self, hold: PendingHold) -> Booking:
        key: Hashable = hold.request.event_id if self.batching.per_event else None
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane()
        lane.queue.append(hold)
        if lane.in_flight == 0 or len(lane.queue) >= self.batching.max_size:
            self._launch(key, lane)
        elif lane.timer is None:
            lane.timer = asyncio.get_running_loop().call_later(
                self.batching.max_wait.total_seconds(), self._on_timer, key, lane
            )
        return await hold.future

    def _on_timer(self, key: Hashable, lane: _Lane) -> None:
        lane.timer = None
        if lane.queue:
            self._launch(key, lane)

    def _launch(self, key: Hashable, lane: _Lane) -> None:
        if lane.in_flight >= self.batching.max_in_flight:
            return  # the batch that ends next takes them
        if lane.timer is not None:
            lane.timer.cancel()
            lane.timer = None
        lane.queue = [hold for hold in lane.queue if not hold.future.done()]  # callers gone
        batch = lane.queue[: self.batching.max_size]
        del lane.queue[: self.batching.max_size]
        if not batch:
            if lane.in_flight == 0 and self._lanes.get(key) is lane:
                del self._lanes[key]
            return
        lane.in_flight += 1
        if self.on_batch is not None:
            with contextlib.suppress(Exception):  # metrics never fail a reservation
                self.on_batch(len(batch))
        loop = asyncio.get_running_loop()
        task = loop.create_task(self._batch(key, lane, batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if lane.queue and lane.timer is None:  # more than one batch was waiting
            lane.timer = loop.call_later(
                self.batching.max_wait.total_seconds(), self._on_timer, key, lane
            )

    async def _batch(self, key: Hashable, lane: _Lane, batch: list[PendingHold]) -> None:
        try:
            lane.careful = await self._run(batch, lane.careful)
        except Exception as error:  # never leave a request without an answer
            for hold in batch:
                _answer(hold, error)
        except BaseException:  # the process is stopping: so are the requests waiting
            for hold in batch:
                hold.future.cancel()
            raise
        finally:
            lane.in_flight -= 1
            if lane.queue:
                self._launch(key, lane)
            elif lane.in_flight == 0 and self._lanes.get(key) is lane:
                del self._lanes[key]
