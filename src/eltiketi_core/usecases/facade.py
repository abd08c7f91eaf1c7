"""One object that holds every use case, built from one set of ports."""

from __future__ import annotations

from collections.abc import Sequence

from eltiketi_core.domain.job import JobKind
from eltiketi_core.ports.clock import Clock, IdGenerator
from eltiketi_core.ports.contact import ContactNormaliser
from eltiketi_core.ports.messaging import EventHandler
from eltiketi_core.ports.notifications import Notifier
from eltiketi_core.ports.payments import PaymentGateway
from eltiketi_core.ports.tickets import TicketSigner
from eltiketi_core.ports.uow import UnitOfWorkFactory
from eltiketi_core.usecases.attendees import Attendees
from eltiketi_core.usecases.booking import Bookings
from eltiketi_core.usecases.cancellation import EventCancellation
from eltiketi_core.usecases.catalog import Catalog
from eltiketi_core.usecases.checkin import CheckIns
from eltiketi_core.usecases.core_ports import CorePorts
from eltiketi_core.usecases.dashboard import Dashboards
from eltiketi_core.usecases.event_admin import EventAdmin
from eltiketi_core.usecases.expiry import HoldSweeper
from eltiketi_core.usecases.handlers import (
    InventoryHandler,
    NotificationHandler,
    PaymentCanceller,
    RefundExecutor,
)
from eltiketi_core.usecases.jobs import Jobs
from eltiketi_core.usecases.notifications import Notifications
from eltiketi_core.usecases.orders import Orders
from eltiketi_core.usecases.organizations import Organizations
from eltiketi_core.usecases.organizer_orders import OrganizerOrders
from eltiketi_core.usecases.payment import Payments
from eltiketi_core.usecases.policy import Policy
from eltiketi_core.usecases.reservation import Batching
from eltiketi_core.usecases.retention import Pruning
from eltiketi_core.usecases.settlement import Settlement


class Ticketing:
    """The whole core: ``ticketing.bookings.reserve(...)``, ``ticketing.settlement.confirm(...)``…

    Organizers (the back office): ``event_admin`` (edit events and ticket types,
    capacity, unpublish, the event list with status), ``dashboards``,
    ``organizer_orders`` (search, detail, refund, resend) and ``attendees`` (list,
    CSV export), beside ``catalog`` (create, publish) and ``cancellation``.

    ``handlers`` are the event consumers; connect them to a bus (the in-process
    bus in embedded mode, Kafka in production) behind an ``OutboxRelay``.
    ``jobs.run_due()`` advances background jobs (an event's cancellation),
    ``sweeper.sweep()`` releases expired holds and ``pruning.prune()`` forgets old
    outbox, inbox and idempotency records; call them from loops.

    Args:
        runner_name: this process's name in the leases of the jobs it runs
            (unique per process; default: a fresh id).
        contacts: checks contact e-mails and phone numbers (the app plugs in
            ``eltiketi_adapters.contact``; without one only the core's hard limits apply).
        batching: how concurrent reservations are grouped into one transaction
            (default: per event; see :mod:`eltiketi_core.usecases.reservation`).
    """

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        gateway: PaymentGateway,
        signer: TicketSigner,
        notifiers: Sequence[Notifier],
        policy: Policy | None = None,
        runner_name: str | None = None,
        contacts: ContactNormaliser | None = None,
        batching: Batching | None = None,
    ) -> None:
        policy = policy or Policy()
        self.policy = policy
        self.clock = clock
        ports = CorePorts(uow, clock, ids)
        self.catalog = Catalog(ports)
        self.bookings = Bookings(ports, policy, contacts, batching=batching)
        self.settlement = Settlement(ports, gateway, signer)
        self.payments = Payments(ports, gateway, policy, settlement=self.settlement)
        self.orders = Orders(ports, policy)
        self.cancellation = EventCancellation(ports, policy)
        self.jobs = Jobs(
            uow,
            clock,
            policy,
            {JobKind.EVENT_CANCELLATION: self.cancellation},
            owner=runner_name or f"runner-{ids.new_id()}",
        )
        self.checkins = CheckIns(ports, signer)
        self.notifications = Notifications(ports, notifiers, policy)
        self.event_admin = EventAdmin(uow, clock)
        self.dashboards = Dashboards(uow, clock)
        self.organizer_orders = OrganizerOrders(ports, self.notifications)
        self.attendees = Attendees(uow)
        self.organizations = Organizations(ports, policy, self.notifications)
        self.sweeper = HoldSweeper(ports, policy)
        self.pruning = Pruning(uow, clock)
        self.inventory_handler = InventoryHandler(uow, clock)
        self.notification_handler = NotificationHandler(self.notifications)
        self.refund_executor = RefundExecutor(ports, gateway)
        self.payment_canceller = PaymentCanceller(uow, clock, gateway, self.settlement)

    @property
    def handlers(self) -> list[EventHandler]:
        return [
            self.inventory_handler,
            self.notification_handler,
            self.refund_executor,
            self.payment_canceller,
        ]
