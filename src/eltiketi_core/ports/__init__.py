"""Ports: what the core needs from the world, as ``typing.Protocol`` classes.

Adapters in ``eltiketi_adapters`` implement them; the in-memory adapters and
the SQL adapters pass the same contract suite (``tests/contract``).
"""

from eltiketi_core.ports.clock import Clock, IdGenerator
from eltiketi_core.ports.identity import TokenVerifier
from eltiketi_core.ports.messaging import EventHandler, EventPublisher
from eltiketi_core.ports.notifications import (
    InvitationNotice,
    Notifier,
    PaymentProblemNotice,
    RefundNotice,
    TicketsNotice,
)
from eltiketi_core.ports.organizations import InvitationStore, OrganizationStore
from eltiketi_core.ports.payments import (
    GatewayPaymentStatus,
    PaymentGateway,
    PaymentSession,
    VerifiedPayment,
    WebhookKind,
    WebhookNotice,
)
from eltiketi_core.ports.stores import (
    Attendee,
    BookingStore,
    CatalogStore,
    IdempotencyRecord,
    IdempotencyStore,
    InboxStore,
    InventoryStore,
    JobStore,
    NotificationRecord,
    NotificationStatus,
    NotificationStore,
    OrderQuery,
    OrderStore,
    OrderTotals,
    OutboxEntry,
    OutboxStore,
    PaymentStore,
    RefundStore,
    TicketStore,
)
from eltiketi_core.ports.tickets import TicketSigner
from eltiketi_core.ports.uow import UnitOfWork, UnitOfWorkFactory

__all__ = [
    "Attendee",
    "BookingStore",
    "CatalogStore",
    "Clock",
    "EventHandler",
    "EventPublisher",
    "GatewayPaymentStatus",
    "IdGenerator",
    "IdempotencyRecord",
    "IdempotencyStore",
    "InboxStore",
    "InventoryStore",
    "InvitationNotice",
    "InvitationStore",
    "JobStore",
    "NotificationRecord",
    "NotificationStatus",
    "NotificationStore",
    "Notifier",
    "OrderQuery",
    "OrderStore",
    "OrderTotals",
    "OrganizationStore",
    "OutboxEntry",
    "OutboxStore",
    "PaymentGateway",
    "PaymentProblemNotice",
    "PaymentSession",
    "PaymentStore",
    "RefundNotice",
    "RefundStore",
    "TicketSigner",
    "TicketStore",
    "TicketsNotice",
    "TokenVerifier",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "VerifiedPayment",
    "WebhookKind",
    "WebhookNotice",
]
