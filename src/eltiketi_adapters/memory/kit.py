"""A fully wired in-memory elTiketi: the one-liner behind the pytest plugin."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from uuid import UUID

from eltiketi_adapters.memory.bus import InProcessBus
from eltiketi_adapters.memory.clock import FixedClock
from eltiketi_adapters.memory.contact import SimpleContactNormaliser
from eltiketi_adapters.memory.gateway import FakePaymentGateway
from eltiketi_adapters.memory.ids import TimeOrderedIds
from eltiketi_adapters.memory.notifier import RecordingNotifier
from eltiketi_adapters.memory.signer import HmacTicketSigner
from eltiketi_adapters.memory.state import MemoryStorage
from eltiketi_adapters.memory.uow import memory_uow_factory
from eltiketi_core.domain.booking import Contact
from eltiketi_core.domain.events import DomainEvent
from eltiketi_core.domain.identity import Principal, Role
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.organization import MemberRole, Membership
from eltiketi_core.ports.clock import IdGenerator
from eltiketi_core.ports.contact import ContactNormaliser
from eltiketi_core.ports.notifications import Notifier
from eltiketi_core.ports.tickets import TicketSigner
from eltiketi_core.usecases import (
    Confirmation,
    EventView,
    ItemRequest,
    NewEvent,
    NewTicketType,
    Policy,
    ReserveRequest,
    Ticketing,
)
from eltiketi_core.usecases.booking import Bookings
from eltiketi_core.usecases.catalog import Catalog
from eltiketi_core.usecases.checkin import CheckIns
from eltiketi_core.usecases.orders import Orders
from eltiketi_core.usecases.organizations import Organizations
from eltiketi_core.usecases.payment import Payments
from eltiketi_core.usecases.relay import OutboxRelay
from eltiketi_core.usecases.settlement import Settlement

#: The organizer :meth:`InMemoryTicketing.event_on_sale` acts as (the owner of its
#: personal organization, which owns the events).
KIT_ORGANIZER = Principal(subject="kit-organizer", roles=frozenset({Role.ORGANIZER.value}))
#: A door scanner: a ``door`` member of the organization of every event
#: :meth:`InMemoryTicketing.event_on_sale` makes, for
#: ``eltiketi.checkins.check_in(KIT_STAFF, token, event_id)``.
KIT_STAFF = Principal(subject="kit-staff", roles=frozenset({Role.STAFF.value}))


class UndeliveredEvents(AssertionError):
    """A handler kept failing during :meth:`InMemoryTicketing.drain` (its events were
    dead-lettered). ``undelivered`` lists (handler, event, error)."""

    def __init__(self, undelivered: list[tuple[str, DomainEvent, str]]) -> None:
        self.undelivered = undelivered
        lines = [
            f"{handler} failed on {event.type} {event.id}: {error}"
            for handler, event, error in undelivered
        ]
        super().__init__(
            "event handlers kept failing (drain(strict=False) tolerates it):\n  "
            + "\n  ".join(lines)
        )


class InMemoryTicketing:
    """Every use case over in-memory adapters, plus the handles a test needs.

    ``core`` is the :class:`~eltiketi_core.usecases.Ticketing` facade (its parts
    are also here: ``kit.bookings``, ``kit.settlement``…). Nothing happens after
    a commit until :meth:`drain` delivers the recorded events to the handlers
    (inventory held → sold, e-tickets, refunds, payment cancellation), so a test
    sees each step; :meth:`drain` is what the in-process relay does in the app.
    Background jobs (an event's cancellation) likewise wait for :meth:`run_jobs`.

    Every argument is optional: by default the clock is a :class:`FixedClock`,
    payments go to a :class:`FakePaymentGateway`, notices to one ``email``
    :class:`RecordingNotifier`, tickets are signed by a :class:`HmacTicketSigner`,
    contacts are checked by a :class:`SimpleContactNormaliser`.

    Args:
        notifier: the recording notifier exposed as ``kit.notifier``.
        notifiers: every channel the core sends on (default: ``[notifier]``).
    """

    def __init__(
        self,
        *,
        clock: FixedClock | None = None,
        ids: IdGenerator | None = None,
        gateway: FakePaymentGateway | None = None,
        notifier: RecordingNotifier | None = None,
        notifiers: Sequence[Notifier] | None = None,
        signer: TicketSigner | None = None,
        policy: Policy | None = None,
        storage: MemoryStorage | None = None,
        contacts: ContactNormaliser | None = None,
    ) -> None:
        self.storage = storage if storage is not None else MemoryStorage()
        self.clock = clock if clock is not None else FixedClock()
        self.ids = ids if ids is not None else TimeOrderedIds()
        self.gateway = gateway if gateway is not None else FakePaymentGateway()
        self.notifier = notifier if notifier is not None else RecordingNotifier("email")
        self.notifiers = list(notifiers) if notifiers is not None else [self.notifier]
        self.signer = signer if signer is not None else HmacTicketSigner()
        self.policy = policy if policy is not None else Policy()
        self.contacts = contacts if contacts is not None else SimpleContactNormaliser()
        self.uow = memory_uow_factory(self.storage)
        self.core = Ticketing(
            uow=self.uow,
            clock=self.clock,
            ids=self.ids,
            gateway=self.gateway,
            signer=self.signer,
            notifiers=self.notifiers,
            policy=self.policy,
            contacts=self.contacts,
        )
        self.bus = InProcessBus(self.core.handlers, backoff_seconds=0, concurrency=1)
        self.relay = OutboxRelay(self.uow, self.bus, self.clock)

    # -- the use cases, by area ---------------------------------------------------------------

    @property
    def catalog(self) -> Catalog:
        return self.core.catalog

    @property
    def bookings(self) -> Bookings:
        return self.core.bookings

    @property
    def payments(self) -> Payments:
        return self.core.payments

    @property
    def settlement(self) -> Settlement:
        return self.core.settlement

    @property
    def orders(self) -> Orders:
        return self.core.orders

    @property
    def checkins(self) -> CheckIns:
        return self.core.checkins

    @property
    def organizations(self) -> Organizations:
        return self.core.organizations

    # -- driving time and events --------------------------------------------------------------

    async def drain(self, *, strict: bool = True) -> int:
        """Deliver recorded events to the handlers until the outbox is empty.

        Returns how many events went out. Handlers that record events of their
        own (a refund records ``RefundCompleted``) are followed to the end.

        Args:
            strict: raise :class:`UndeliveredEvents` if a handler kept failing
                (after the bus's retries) during this drain, instead of leaving
                the event in ``kit.bus.dead_letters`` as the app would.
        """
        before = len(self.bus.dead_letters)
        sent = await self.relay.drain()
        failed = self.bus.dead_letters[before:]
        if strict and failed:
            raise UndeliveredEvents(list(failed))
        return sent

    async def run_jobs(self) -> int:
        """Run every due background job to its end (an event's cancellation), as the
        app's job loop does. Returns how many batches ran; drain afterwards to deliver
        the refunds they recorded."""
        total = 0
        while batches := await self.core.jobs.run_due():
            total += batches
        return total

    async def expire_holds(self, after: timedelta | None = None) -> int:
        """Move the clock past the hold time (or by ``after``) and run the sweeper.

        Returns how many holds were released (their events are not yet drained).
        """
        self.clock.advance(after if after is not None else self.policy.hold_ttl)
        return await self.core.sweeper.sweep()

    # -- shortcuts for arranging a test -------------------------------------------------------

    @staticmethod
    def customer(name: str = "alice", *, phone: str | None = None) -> Principal:
        """A buyer ``name`` with the email ``{name}@example.org``."""
        return Principal(subject=name, username=name, email=f"{name}@example.org", phone=phone)

    async def event_on_sale(
        self,
        *,
        name: str = "Kit Test Concert",
        capacity: int = 100,
        price: Money | None = None,
        ticket_types: Sequence[NewTicketType] | None = None,
        starts_in: timedelta = timedelta(days=30),
        timezone: str = "Europe/Berlin",
        organizer: Principal = KIT_ORGANIZER,
    ) -> EventView:
        """Create, stock and publish an event through the use cases.

        By default it has one ticket type, "Standard", of ``capacity`` tickets
        at ``price`` (45.00 EUR). The event belongs to the organizer's personal
        organization, where :data:`KIT_STAFF` is made a ``door`` member. Returns
        the published event with its ticket types as buyers see them
        (``view.ticket_types[0].id``; ``view.event.organization_id``).
        """
        types = ticket_types or [
            NewTicketType(name="Standard", price=price or Money(4500, "EUR"), capacity=capacity)
        ]
        catalog = self.core.catalog
        event = await catalog.create_event(
            organizer,
            NewEvent(
                name=name,
                venue="Kit Arena",
                starts_at=self.clock.now() + starts_in,
                timezone=timezone,
                currency=types[0].price.currency,
            ),
        )
        for new in types:
            await catalog.add_ticket_type(organizer, event.id, new)
        await catalog.publish(organizer, event.id)
        if await self._role_of(KIT_STAFF, event.organization_id) is None:
            await self.member(event.organization_id, KIT_STAFF, MemberRole.DOOR)
        return await catalog.get(event.id, organizer)

    async def member(
        self, organization_id: UUID, who: Principal, role: MemberRole = MemberRole.DOOR
    ) -> Membership:
        """Make ``who`` a member of the organization with ``role`` (no invitation needed)."""
        return await self.core.organizations.grant(
            organization_id, who.subject, role, email=who.email, by="kit"
        )

    async def _role_of(self, who: Principal, organization_id: UUID) -> MemberRole | None:
        async with self.uow() as uow:
            membership = await uow.organizations.member(organization_id, who.subject)
        return membership.role if membership else None

    async def buy(
        self,
        buyer: Principal,
        event_id: UUID,
        items: Mapping[UUID, int],
        *,
        contact: Contact | None = None,
        drain: bool = True,
    ) -> Confirmation:
        """The whole purchase: hold ``items`` (ticket type id → quantity), start the
        payment, approve it at the fake gateway, confirm, and (by default) drain so
        the stock is sold and the e-tickets are sent."""
        request = ReserveRequest(
            event_id=event_id,
            items=tuple(ItemRequest(ticket_type_id=t, quantity=q) for t, q in items.items()),
            contact=contact,
        )
        booking = (await self.core.bookings.reserve(buyer, request)).booking
        payment = await self.core.payments.start(buyer, booking.id)
        assert payment.provider_reference is not None  # the fake gateway always gives one
        self.gateway.approve(payment.provider_reference)
        confirmation = await self.core.settlement.confirm(buyer, booking.id, payment.id)
        if drain:
            await self.drain()
        return confirmation
