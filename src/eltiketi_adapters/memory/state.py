"""The shared state behind the in-memory stores: journaled tables and the transaction lock.

Every table is a :class:`Table` — a mapping that, while a transaction is open,
notes the previous value of each key before its first change. Rolling back
replays those notes in reverse, so a transaction costs what it changes, not
what the storage holds. Values are frozen msgspec structs or tuples, so a
noted value can never be changed behind the journal's back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable, Iterator, MutableMapping
from datetime import datetime
from typing import Any, TypeVar, overload
from uuid import UUID

from eltiketi_core.domain.booking import Booking
from eltiketi_core.domain.catalog import Event, StockLevel, TicketType
from eltiketi_core.domain.events import DomainEvent
from eltiketi_core.domain.job import Job, JobKind
from eltiketi_core.domain.order import CheckIn, Order, Ticket
from eltiketi_core.domain.organization import Invitation, Membership, Organization
from eltiketi_core.domain.payment import Payment, Refund
from eltiketi_core.ports.stores import IdempotencyRecord, NotificationRecord, OutboxEntry

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
E = TypeVar("E", bound=DomainEvent)

CommitListener = Callable[[], None]

_MISSING: Any = object()


class Journal:
    """Undo notes of the open transaction: (rows, key, value before the first change)."""

    def __init__(self) -> None:
        self.active = False
        self._notes: list[tuple[dict[Any, Any], Any, Any]] = []
        self._seen: set[tuple[int, Any]] = set()

    def note(self, rows: dict[Any, Any], key: Any) -> None:
        if not self.active:
            return
        marker = (id(rows), key)
        if marker in self._seen:
            return
        self._seen.add(marker)
        self._notes.append((rows, key, rows.get(key, _MISSING)))

    def begin(self) -> None:
        self.active = True
        self._forget()

    def keep(self) -> None:
        """Commit point: what was written so far stays; later writes are noted afresh."""
        self._forget()

    def undo(self) -> None:
        for rows, key, before in reversed(self._notes):
            if before is _MISSING:
                rows.pop(key, None)
            else:
                rows[key] = before
        self._forget()

    def end(self) -> None:
        self.active = False
        self._forget()

    def _forget(self) -> None:
        self._notes.clear()
        self._seen.clear()


class Table(MutableMapping[K, V]):
    """A dict whose writes are journaled while a transaction is open."""

    __slots__ = ("_journal", "_rows", "name")

    def __init__(self, name: str, journal: Journal) -> None:
        self.name = name
        self._journal = journal
        self._rows: dict[K, V] = {}

    def __getitem__(self, key: K) -> V:
        return self._rows[key]

    def __setitem__(self, key: K, value: V) -> None:
        self._journal.note(self._rows, key)
        self._rows[key] = value

    def __delitem__(self, key: K) -> None:
        self._journal.note(self._rows, key)
        del self._rows[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def get(self, key: K, default: Any = None) -> Any:  # fast path, no MutableMapping detour
        return self._rows.get(key, default)

    def __repr__(self) -> str:
        return f"<Table {self.name}: {len(self._rows)} rows>"


class MemoryStorage:
    """Everything an in-memory elTiketi knows, shared by the units of work made over it.

    One storage is one "database": give the same storage to several unit-of-work
    factories to share state, create a new one per test for isolation. The
    tables are readable mappings (``storage.bookings[booking_id]``) for
    assertions; write through a unit of work so the rules and the rollback hold.

    Args:
        on_commit: called after every commit that wrote events to the outbox (the
            in-process relay wakes up with it). More listeners can be added with
            :meth:`add_commit_listener`. Listeners must be quick and must not raise;
            an exception is logged and swallowed, never turned into a failed commit.
    """

    def __init__(self, *, on_commit: CommitListener | None = None) -> None:
        self.journal = Journal()
        table = self._table
        self.events: Table[UUID, Event] = table("events")
        self.ticket_types: Table[UUID, TicketType] = table("ticket_types")
        #: event id → its ticket type ids in creation order.
        self.ticket_types_by_event: Table[UUID, tuple[UUID, ...]] = table("ticket_types_by_event")
        self.stock: Table[UUID, StockLevel] = table("stock")
        #: (booking, ticket type) → (held, sold) that this booking accounts for.
        self.allocations: Table[tuple[UUID, UUID], tuple[int, int]] = table("allocations")
        self.bookings: Table[UUID, Booking] = table("bookings")
        #: held bookings → their expiry (what the sweeper scans).
        self.held: Table[UUID, datetime] = table("held")
        #: bookings that ended expired or cancelled → when (the re-hold throttle reads it).
        self.ended_at: Table[UUID, datetime] = table("ended_at")
        #: (buyer, event) → booking ids (what the per-buyer limit counts).
        self.bookings_by_buyer: Table[tuple[str, UUID], tuple[UUID, ...]] = table(
            "bookings_by_buyer"
        )
        self.payments: Table[UUID, Payment] = table("payments")
        self.open_payment: Table[UUID, UUID] = table("open_payment")
        self.payment_by_reference: Table[tuple[str, str], UUID] = table("payment_by_reference")
        self.orders: Table[UUID, Order] = table("orders")
        self.order_by_booking: Table[UUID, UUID] = table("order_by_booking")
        self.order_by_payment: Table[UUID, UUID] = table("order_by_payment")
        self.order_by_reference: Table[str, UUID] = table("order_by_reference")
        self.tickets: Table[UUID, Ticket] = table("tickets")
        self.tickets_by_order: Table[UUID, tuple[UUID, ...]] = table("tickets_by_order")
        #: ticket id → its first (and only) check-in.
        self.check_ins: Table[UUID, CheckIn] = table("check_ins")
        self.check_in_ids: Table[UUID, UUID] = table("check_in_ids")
        self.refunds: Table[UUID, Refund] = table("refunds")
        #: payment → its one refund (money goes back once per payment).
        self.refund_by_payment: Table[UUID, UUID] = table("refund_by_payment")
        self.idempotency: Table[tuple[str, str], IdempotencyRecord] = table("idempotency")
        self.outbox: Table[int, OutboxEntry] = table("outbox")
        self.outbox_event_ids: Table[UUID, int] = table("outbox_event_ids")
        self.unpublished: Table[int, None] = table("unpublished")
        self.published: Table[int, datetime] = table("published")
        self.inbox: Table[tuple[str, str], datetime] = table("inbox")
        self.notifications: Table[tuple[str, str], NotificationRecord] = table("notifications")
        self.notification_ids: Table[UUID, tuple[str, str]] = table("notification_ids")
        self.jobs: Table[UUID, Job] = table("jobs")
        self.job_by_event: Table[tuple[UUID, JobKind], UUID] = table("job_by_event")
        #: (scope, channel) → messages counted against that scope's limit.
        self.notification_quotas: Table[tuple[str, str], int] = table("notification_quotas")
        self.organizations: Table[UUID, Organization] = table("organizations")
        #: subject → their personal organization.
        self.personal_organizations: Table[str, UUID] = table("personal_organizations")
        self.memberships: Table[tuple[UUID, str], Membership] = table("memberships")
        #: subject → the organizations they belong to.
        self.memberships_by_subject: Table[str, tuple[UUID, ...]] = table("memberships_by_subject")
        #: organization → its members' subjects.
        self.members_by_organization: Table[UUID, tuple[str, ...]] = table(
            "members_by_organization"
        )
        self.invitations: Table[UUID, Invitation] = table("invitations")
        self.invitations_by_organization: Table[UUID, tuple[UUID, ...]] = table(
            "invitations_by_organization"
        )
        #: Next outbox position. Like a database sequence it is not rolled back:
        #: a rolled-back transaction leaves a gap, never a reused number.
        self.next_seq = 1
        self.lock = asyncio.Lock()
        self.lock_owner: asyncio.Task[Any] | None = None
        #: Commit listeners; ``on_commit.append(fn)`` and :meth:`add_commit_listener` agree.
        self.on_commit: list[CommitListener] = []
        if on_commit is not None:
            self.add_commit_listener(on_commit)

    def _table(self, name: str) -> Table[Any, Any]:
        return Table(name, self.journal)

    def add_commit_listener(self, listener: CommitListener) -> None:
        """Call ``listener()`` after each commit that wrote events to the outbox."""
        self.on_commit.append(listener)

    def committed_events(self) -> None:
        for listener in list(self.on_commit):
            try:
                listener()
            except Exception:  # a listener must never turn a commit into a failure
                log.exception("commit listener failed")

    @overload
    def recorded_events(self) -> list[DomainEvent]: ...

    @overload
    def recorded_events(self, kind: type[E]) -> list[E]: ...

    def recorded_events(self, kind: type[DomainEvent] = DomainEvent) -> list[Any]:
        """Events in the outbox, published or not, in order (pruned ones are gone).

        ``storage.recorded_events(OrderCreated)`` answers "was this recorded?"
        without running any handler.
        """
        return [
            self.outbox[seq].event
            for seq in sorted(self.outbox)
            if isinstance(self.outbox[seq].event, kind)
        ]
