"""Persistence ports. Each store works inside the transaction of its unit of work.

Rules every implementation keeps (the contract suite in ``tests/contract``
checks them on every adapter):

* Counters change only through :class:`InventoryStore`'s conditional methods;
  ``held + sold <= capacity`` holds at every instant.
* ``transition`` methods are compare-and-set: they change a status only if it
  still has the expected value and say whether they did. That one conditional
  change decides every race (confirm vs. expire vs. cancel).
* Uniqueness is enforced at write time: one order per booking, per payment (a free
  order has no payment) and per reference, one open payment per booking, one refund
  per payment whatever its reason, one check-in per ticket, one idempotency record
  per (user, key), one inbox row per (consumer, event id), one notification per
  (key, channel).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID

import msgspec

from eltiketi_core.domain.booking import Booking, BookingStatus, Contact
from eltiketi_core.domain.catalog import Event, EventStatus, StockLevel, TicketType
from eltiketi_core.domain.events import DomainEvent
from eltiketi_core.domain.job import Job, JobKind
from eltiketi_core.domain.order import (
    CheckIn,
    Order,
    OrderStatus,
    StockState,
    Ticket,
    TicketStatus,
)
from eltiketi_core.domain.payment import Payment, PaymentStatus, Refund, RefundReason


class CatalogStore(Protocol):
    async def add_event(self, event: Event) -> None:
        """Its organization must exist (a missing one is a ``constraint_violation``)."""
        ...

    async def get_event(self, event_id: UUID) -> Event | None: ...

    async def update_event(self, event: Event) -> None:
        """Write what an organizer may edit: name, venue, start, timezone, locale,
        currency and description (never ``owner``, ``organization_id``, ``status`` or
        ``created_at``).

        Like :meth:`set_event_status`, waits for the units of work that opened this
        event for sale, and sales opened after it see the change.
        """
        ...

    async def open_for_sale(
        self,
        event_id: UUID,
        ticket_type_ids: Sequence[UUID],
        *,
        buyer: str | None,
        more_buyers: Collection[str] = (),
    ) -> tuple[Event, dict[UUID, TicketType]] | None:
        """Open a sale: the event (None: no such event) and those of the listed ticket
        types that belong to it, read in order to sell from them to ``buyer`` (and, for a
        batch of reservations, to ``more_buyers`` as well: every buyer is locked as below).

        Until this unit of work ends:

        * the event's status stays what was read: a :meth:`set_event_status` of the
          event waits for it, and a sale opened after a status change sees the change.
          So a reservation that found the event on sale either commits before a
          cancellation starts releasing holds, or sees it cancelled;
        * with a ``buyer``, the buyer's other sales of this event wait, so the buyer's
          ticket count read after this (:meth:`BookingStore.active_quantity`) stays
          exact and a per-buyer limit checked with it cannot be raced past. A
          settlement passes None: it needs the event's status, not the count.

        One or two round trips.
        """
        ...

    async def set_event_status(self, event_id: UUID, status: EventStatus) -> None:
        """Waits for the units of work that opened this event for sale to end first."""
        ...

    async def list_events(
        self,
        *,
        statuses: frozenset[EventStatus] | None = None,
        organizations: Collection[UUID] | None = None,
        starts_after: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Event]:
        """Events ordered by ``starts_at`` then id; filters combine with AND.

        ``organizations``: only events of these organizations (an empty collection
        matches nothing); None: any organization.
        ``starts_after``: only events starting later than this (the shop's upcoming ones).
        """
        ...

    async def add_ticket_type(self, ticket_type: TicketType) -> None:
        """Also creates the stock (``capacity`` split over ``shards`` rows where rows exist)."""
        ...

    async def get_ticket_type(self, ticket_type_id: UUID) -> TicketType | None: ...

    async def update_ticket_type(self, ticket_type: TicketType) -> None:
        """Write what an organizer may edit: name, price, max per booking and the sale
        window (never ``event_id`` or ``shards``; ``capacity`` changes only through
        :meth:`InventoryStore.set_capacity`).

        Waits for the units of work that opened the type's event for sale, like
        :meth:`update_event`: a reservation either committed under the old rules or
        reads the new ones.
        """
        ...

    async def ticket_types(self, event_id: UUID) -> list[TicketType]:
        """In creation order."""
        ...


class InventoryStore(Protocol):
    async def reserve(self, booking_id: UUID, ticket_type_id: UUID, quantity: int) -> bool:
        """``held += quantity`` if ``capacity - held - sold >= quantity``, in one
        conditional step; False (and no change) otherwise. Remembers which
        shards served ``booking_id`` so the release can give back to them."""
        ...

    async def take(self, ticket_type_id: UUID, takes: Sequence[tuple[UUID, int]]) -> bool:
        """Hold what several bookings want of one ticket type, all or nothing: ``held +=``
        the sum if ``capacity - held - sold >=`` the sum, in one conditional step (per
        shard), each booking's part recorded as its own (as :meth:`reserve` records it).
        False (and no change) otherwise: a group commit then decides booking by booking
        after :meth:`lock_available`."""
        ...

    async def lock_available(self, ticket_type_ids: Sequence[UUID]) -> dict[UUID, int]:
        """Tickets left per type (``capacity - held - sold`` summed over its shards), with
        the type's stock locked until this unit of work ends, in ticket-type then shard
        order: a :meth:`take` or :meth:`reserve` of at most that much cannot fail
        meanwhile. Stock already sold out is reported (0) without waiting for it.
        Unknown types are absent."""
        ...

    async def release(self, booking_id: UUID, ticket_type_id: UUID, quantity: int) -> None:
        """``held -= quantity``, to the shards the booking took from."""
        ...

    async def sell(self, booking_id: UUID, ticket_type_id: UUID, quantity: int) -> None:
        """``held -= quantity; sold += quantity`` on the booking's shards."""
        ...

    async def unsell(self, booking_id: UUID, ticket_type_id: UUID, quantity: int) -> None:
        """``sold -= quantity`` on the booking's shards (a refunded order)."""
        ...

    async def levels(self, ticket_type_ids: Sequence[UUID]) -> dict[UUID, StockLevel]:
        """Counters summed over shards. Unknown ids are absent from the result."""
        ...

    async def set_capacity(self, ticket_type_id: UUID, capacity: int) -> bool:
        """The type's capacity becomes ``capacity`` if that is at least ``held + sold``,
        decided under the counters' own locks (no reservation, release or sale can
        slip in between the check and the write); False (and no change) otherwise, or
        for an unknown type. The ticket type's ``capacity`` changes with it.

        Shards: each keeps at least what it has handed out (its ``held + sold``) and
        the free stock is spread over them evenly, so the rule holds per shard too.
        """
        ...


class BookingStore(Protocol):
    async def add(self, booking: Booking) -> None: ...

    async def add_many(self, bookings: Sequence[Booking]) -> None:
        """:meth:`add` of each, in as few statements as the store can (a group commit)."""
        ...

    async def get(self, booking_id: UUID) -> Booking | None: ...

    async def transition(
        self, booking_id: UUID, expected: BookingStatus, new: BookingStatus
    ) -> bool:
        """Compare-and-set of the status; True if this call made the change."""
        ...

    async def set_contact(self, booking_id: UUID, contact: Contact) -> bool:
        """Change where the tickets go, only while the booking is ``held``.

        True if this call changed it; False for an unknown booking or one that has
        left ``held`` (a confirmed order keeps the contact it was confirmed with).
        """
        ...

    async def end(self, booking_id: UUID, new: BookingStatus, *, at: datetime) -> bool:
        """Compare-and-set from ``held`` to ``new`` (expired or cancelled), recording
        ``at`` as when the hold ended; True if this call made the change."""
        ...

    async def ended_unpaid(
        self, buyer: str, event_id: UUID, *, since: datetime, limit: int
    ) -> list[datetime]:
        """When the buyer's holds for the event ended expired or cancelled, for those
        that ended at or after ``since``: newest first, at most ``limit``."""
        ...

    async def ended_unpaid_of(
        self, buyers: Collection[str], event_id: UUID, *, since: datetime, limit: int
    ) -> dict[str, list[datetime]]:
        """:meth:`ended_unpaid` of each buyer, in one read (a buyer with none: absent)."""
        ...

    async def set_holders(self, booking_id: UUID, holders: tuple[str, ...]) -> bool:
        """Name the ticket holders (one name per ticket), only while the booking is ``held``.

        True if this call changed them; False for an unknown booking or one that has left
        ``held`` (the tickets were issued with the names the booking had then).
        """
        ...

    async def claim_expired(
        self, now: datetime, *, limit: int, ticket_type_id: UUID | None = None
    ) -> list[Booking]:
        """Held bookings with ``expires_at <= now``, locked for this transaction.

        Rows another transaction holds are skipped (``FOR UPDATE SKIP LOCKED``),
        so several sweepers can run at once without releasing a hold twice.
        With ``ticket_type_id``, only holds containing that type.
        """
        ...

    async def active_quantity(self, buyer: str, event_id: UUID, now: datetime) -> int:
        """Tickets the buyer holds (unexpired) or bought (not refunded) for the event.

        Exact against the buyer's concurrent sales when read after
        :meth:`CatalogStore.open_for_sale` for this buyer in the same unit of work.
        """
        ...

    async def active_quantities(
        self, buyers: Collection[str], event_id: UUID, now: datetime
    ) -> dict[str, int]:
        """:meth:`active_quantity` of each buyer, in one read (buyers with none: 0)."""
        ...

    async def held_for_event(self, event_id: UUID, *, limit: int) -> list[Booking]:
        """Bookings still ``held`` for the event (cancelling an event releases them)."""
        ...

    async def any_for_event(self, event_id: UUID) -> bool:
        """Whether any booking, in any status, was ever made for the event."""
        ...


class PaymentStore(Protocol):
    async def add(self, payment: Payment) -> bool:
        """False (nothing written) if the booking already has an open payment."""
        ...

    async def get(self, payment_id: UUID) -> Payment | None: ...

    async def open_for_booking(self, booking_id: UUID) -> Payment | None: ...

    async def for_booking(self, booking_id: UUID) -> list[Payment]:
        """Newest first."""
        ...

    async def by_reference(self, provider: str, reference: str) -> Payment | None: ...

    async def update(self, payment: Payment) -> None:
        """Stores provider reference, URLs and status as given."""
        ...

    async def transition(
        self, payment_id: UUID, expected: frozenset[PaymentStatus], new: PaymentStatus
    ) -> bool:
        """Compare-and-set of the status: ``new`` if the status is one of ``expected``;
        True if this call made the change. Of two concurrent calls that expect the same
        status exactly one wins (the loser waits for the winner's transaction and sees its
        result), which is what decides a payment's fate once (``PaymentStatus``). Never
        makes a second open payment for the booking (False instead)."""
        ...


class OrderQuery(msgspec.Struct, frozen=True, kw_only=True):
    """What an organizer searches orders by: the orders of ``event_ids`` (and in
    ``status``, unless None) that match **any** of the given identifying criteria — or
    all of the events' orders when none is given.

    * ``text``: case-insensitively (ASCII letters at least), a part of the order's
      contact e-mail or phone, of the buyer's subject, or of the name on one of its
      tickets (``Ticket.holder_name``);
    * ``id_prefix``: lower-case hex digits (dashes removed, 4 to 32 of them) the
      order's id starts with;
    * ``reference``: the order's ``reference``, exactly (already normalised).
    """

    event_ids: tuple[UUID, ...]
    text: str | None = None
    id_prefix: str | None = None
    reference: str | None = None
    status: OrderStatus | None = None


class OrderTotals(msgspec.Struct, frozen=True, kw_only=True):
    """An event's orders summed up: how many and how much, by status.

    Amounts are minor units of the event's currency (every order of an event is in it).
    """

    event_id: UUID
    confirmed: int = 0
    refunded: int = 0
    confirmed_amount: int = 0
    refunded_amount: int = 0

    @property
    def orders(self) -> int:
        return self.confirmed + self.refunded

    @property
    def gross_amount(self) -> int:
        """Everything ever paid for an order of the event, refunded orders included."""
        return self.confirmed_amount + self.refunded_amount


class OrderStore(Protocol):
    async def add(self, order: Order) -> bool:
        """False (nothing written) if the booking or the payment already has an order, or
        another order has the same ``reference``.

        An order without a payment (a free booking) is refused only by its booking or its
        reference."""
        ...

    async def get(self, order_id: UUID) -> Order | None: ...

    async def by_reference(self, reference: str) -> Order | None:
        """The order whose ``reference`` is exactly this (see
        :func:`~eltiketi_core.domain.order.normalise_reference` for typed input)."""
        ...

    async def for_booking(self, booking_id: UUID) -> Order | None: ...

    async def list_for_buyer(self, buyer: str, *, limit: int = 50, offset: int = 0) -> list[Order]:
        """Newest first."""
        ...

    async def list_for_event(
        self, event_id: UUID, *, status: OrderStatus | None = None, limit: int = 500
    ) -> list[Order]: ...

    async def page_for_event(
        self, event_id: UUID, *, status: OrderStatus, after: UUID | None, limit: int
    ) -> list[Order]:
        """The event's orders in ``status`` with an id above ``after`` (all: None), by id.

        Keyset pagination: each page costs what it returns, however far the walk
        has gone and however many orders left ``status`` behind it.
        """
        ...

    async def count_for_event(self, event_id: UUID, *, status: OrderStatus) -> int: ...

    async def search(self, query: OrderQuery, *, limit: int, offset: int = 0) -> list[Order]:
        """Orders of ``query.event_ids`` that match it, newest first (``created_at``,
        then id, descending)."""
        ...

    async def totals(self, event_ids: Sequence[UUID]) -> dict[UUID, OrderTotals]:
        """Counts and amounts per event; an event without orders is absent."""
        ...

    async def hourly_counts(self, event_id: UUID, *, since: datetime) -> dict[datetime, int]:
        """Orders of the event created at or after ``since``, counted per UTC hour: the
        hour's start (aware, UTC) -> count, for the hours that have any."""
        ...

    async def transition(self, order_id: UUID, expected: OrderStatus, new: OrderStatus) -> bool: ...

    async def move_stock(self, order_id: UUID, expected: StockState, new: StockState) -> bool:
        """Compare-and-set of where the order's tickets are counted."""
        ...


class Attendee(msgspec.Struct, frozen=True, kw_only=True):
    """One ticket of an event as the door list shows it: whose, of what type, and
    whether it has been scanned in. ``holder`` is the buyer's subject, ``holder_name``
    the name the buyer gave the ticket (if any); ``email``/``phone`` are the order's
    contact."""

    ticket_id: UUID
    order_id: UUID
    ticket_type_id: UUID
    holder: str
    status: TicketStatus
    holder_name: str | None = None
    email: str | None = None
    phone: str | None = None
    checked_in_at: datetime | None = None


class TicketStore(Protocol):
    async def add_many(self, tickets: Sequence[Ticket]) -> None: ...

    async def get(self, ticket_id: UUID) -> Ticket | None: ...

    async def for_order(self, order_id: UUID) -> list[Ticket]: ...

    async def get_locked(self, ticket_id: UUID) -> Ticket | None:
        """The ticket, read under a lock that :meth:`void_for_order` waits for until
        this transaction ends (and that waits for a void in progress): a check-in
        that sees the ticket valid commits before its order can be voided."""
        ...

    async def void_for_order(self, order_id: UUID) -> int:
        """Marks every ticket of the order void; returns how many changed."""
        ...

    async def checked_in_count(self, order_id: UUID) -> int:
        """How many of the order's tickets have a check-in. Read after
        :meth:`void_for_order` in the same transaction, it also counts the
        check-ins that committed while the void waited for their ticket."""
        ...

    async def check_in(self, check_in: CheckIn) -> CheckIn:
        """Record the first scan of a ticket. Returns the stored check-in: the
        given one if this call won, else the earlier one (single use); compare
        ``id`` to tell which."""
        ...

    async def check_ins_for_order(self, order_id: UUID) -> list[CheckIn]:
        """The check-ins of the order's tickets (at most one per ticket)."""
        ...

    async def check_in_count(self, event_id: UUID) -> int:
        """How many tickets of the event have been checked in."""
        ...

    async def attendees(
        self, event_id: UUID, *, after: UUID | None, limit: int, include_void: bool = False
    ) -> list[Attendee]:
        """The event's tickets with an id above ``after`` (all: None), by ticket id, at most
        ``limit``; void ones only with ``include_void``.

        Keyset pagination: a page costs what it returns however far the walk has
        gone, so an export of the whole list reads it page by page in flat memory.
        """
        ...


class RefundStore(Protocol):
    async def add(self, refund: Refund) -> bool:
        """False (nothing written) if the payment already has a refund, whatever its reason:
        money goes back once per payment, so two decisions (a hold lost, then the event
        cancelled) can never ask the gateway for the money twice."""
        ...

    async def get(self, refund_id: UUID) -> Refund | None: ...

    async def for_payment(self, payment_id: UUID) -> list[Refund]:
        """The payment's refund as a list: empty or one."""
        ...

    async def find(self, payment_id: UUID, reason: RefundReason) -> Refund | None:
        """The payment's refund if it was decided for ``reason``."""
        ...

    async def update(self, refund: Refund) -> None: ...


class JobStore(Protocol):
    """Background jobs (:mod:`eltiketi_core.domain.job`) and their leases.

    Times come from the caller's clock; the store never decides "now" itself.
    """

    async def add(self, job: Job) -> bool:
        """False (nothing written) if the event already has a job of this kind."""
        ...

    async def get(self, job_id: UUID) -> Job | None: ...

    async def for_event(self, event_id: UUID, kind: JobKind) -> Job | None: ...

    async def claim(self, now: datetime, *, owner: str, until: datetime, limit: int) -> list[Job]:
        """Take up to ``limit`` due jobs, oldest first, for ``owner`` until ``until``.

        Due: ``queued``, or ``running`` with no lease or ``lease_expires_at <= now``
        (a runner died, or handed the job back). Claimed jobs come back ``running``, with
        ``lease_owner=owner``, ``lease_expires_at=until`` and ``started_at`` set on
        their first claim. Rows another transaction holds are skipped (``FOR UPDATE
        SKIP LOCKED``), so two runners never claim one job at once.
        """
        ...

    async def update(self, job: Job, *, owner: str | None) -> bool:
        """Write ``job``'s fields if its stored ``lease_owner`` is still ``owner``.

        ``id``, ``event_id`` and ``kind`` identify the job and never change: a job
        whose event or kind differs from the stored one is not written either.

        A compare-and-set on the lease: a runner whose lease was taken over by
        another gets False and nothing is written, so its batch is rolled back
        instead of being counted twice. ``owner=None`` matches a job no runner
        holds (queued, failed or done). On PostgreSQL the job's row stays locked
        until the transaction ends, so a claim skips it meanwhile.
        """
        ...


class IdempotencyRecord(msgspec.Struct, frozen=True, kw_only=True):
    """The first answer to a request with an ``Idempotency-Key``."""

    user: str
    key: str
    request_hash: str
    response: bytes
    created_at: datetime


class IdempotencyStore(Protocol):
    async def get(self, user: str, key: str) -> IdempotencyRecord | None: ...

    async def add(self, record: IdempotencyRecord) -> bool:
        """False (nothing written) if (user, key) exists."""
        ...

    async def add_many(self, records: Sequence[IdempotencyRecord]) -> set[tuple[str, str]]:
        """:meth:`add` of each (their (user, key) pairs are distinct); the pairs written."""
        ...

    async def prune(self, created_before: datetime) -> int: ...


class OutboxEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A recorded event and its position; ``seq`` orders the outbox."""

    seq: int
    event: DomainEvent


class OutboxStore(Protocol):
    async def add(self, events: Sequence[DomainEvent]) -> None: ...

    async def pending(self, *, limit: int) -> list[OutboxEntry]:
        """Unpublished entries, lowest ``seq`` first."""
        ...

    async def mark_published(self, seqs: Sequence[int], at: datetime) -> None: ...

    async def prune(self, published_before: datetime) -> int: ...


class InboxStore(Protocol):
    async def claim(self, consumer: str, event_id: str, at: datetime) -> bool:
        """Record that ``consumer`` processed ``event_id``; False if it already had.

        Committed with the handler's effect, so an effect happens at most once
        per consumer even though delivery is at least once.
        """
        ...

    async def prune(self, processed_before: datetime) -> int: ...


class NotificationStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    #: Not sent, and never will be: the booking's limit for this kind of message was
    #: reached (``Policy.payment_problem_notices_per_booking`` and the like).
    SUPPRESSED = "suppressed"


class NotificationRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One message on one channel. ``key`` names what it is about (``tickets:{order}``).

    While a sender works on it, the record holds that sender's ``lease`` (a token) and
    ``next_attempt_at`` is when the lease runs out; the sender keeps pushing it forward
    (:meth:`NotificationStore.renew`). A record whose lease ran out is due again: its
    sender died. ``generation`` counts the times the buyer asked for the message again
    (a resend is a new message, with a new identity); ``requested_at`` is when the
    current generation was asked for (None on records older than the field: use
    ``created_at``).
    """

    id: UUID
    key: str
    channel: str
    kind: str
    recipient: str
    status: NotificationStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    error: str | None = None
    lease: UUID | None = None
    generation: int = 0
    requested_at: datetime | None = None


class NotificationStore(Protocol):
    """Every change of a record a sender may hold is conditional, so two senders never
    both believe they own a message: :meth:`claim_due` and :meth:`claim_resend` give a
    record a lease, :meth:`renew` and :meth:`finish` act only for the lease's holder."""

    async def add(self, record: NotificationRecord) -> bool:
        """False (nothing written) if (key, channel) exists: a message is never queued twice."""
        ...

    async def get(self, key: str, channel: str) -> NotificationRecord | None: ...

    async def update(self, record: NotificationRecord) -> None:
        """Writes the record as given, whoever holds it (for tools and repairs; senders
        use :meth:`finish`)."""
        ...

    async def claim_due(
        self, now: datetime, *, lease: UUID, until: datetime, limit: int
    ) -> list[NotificationRecord]:
        """Take up to ``limit`` queued or failed records whose ``next_attempt_at`` has come
        (a failure's backoff is over, or a sender's lease ran out): each now holds
        ``lease`` until ``until``. Returns them as changed, earliest due first.

        Concurrent claimers never get the same record (rows another transaction holds
        are skipped, and the change is conditional on the record still being due).
        """
        ...

    async def renew(self, lease: UUID, until: datetime) -> int:
        """Push the lease of every unfinished record holding ``lease`` out to ``until``;
        how many it held. A record finished, or taken over after the lease ran out, is
        no longer held and stays as it is."""
        ...

    async def finish(self, record: NotificationRecord, *, lease: UUID) -> bool:
        """Write the outcome of a send (``record`` as given, normally with its ``lease``
        cleared) if the stored record still holds ``lease``; False (nothing written) if
        it does not: the lease ran out and someone else took the message."""
        ...

    async def claim_resend(
        self,
        key: str,
        channel: str,
        *,
        now: datetime,
        quiet_since: datetime,
        lease: UUID,
        until: datetime,
    ) -> NotificationRecord | None:
        """Compare-and-set of the resend slot: if the record was neither asked for nor
        sent after ``quiet_since`` and no live lease holds it, start its next generation
        (``generation + 1``, ``requested_at = now``, queued, no attempts yet, holding
        ``lease`` until ``until``) and return it; otherwise None and no change. Of many
        concurrent callers exactly one wins."""
        ...

    async def take_quota(self, scope: str, channel: str, limit: int) -> bool:
        """Count one more message of ``scope`` (e.g. one booking's payment problems) on
        ``channel`` if fewer than ``limit`` were counted; False (no change) otherwise.
        One conditional write, exact under concurrency."""
        ...

    async def for_key_prefix(self, prefix: str) -> list[NotificationRecord]: ...
