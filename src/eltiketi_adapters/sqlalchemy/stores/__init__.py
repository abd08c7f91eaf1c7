"""One store per port, all working inside the transaction of a unit of work."""

from eltiketi_adapters.sqlalchemy.stores.bookings import SqlBookingStore
from eltiketi_adapters.sqlalchemy.stores.catalog import SqlCatalogStore
from eltiketi_adapters.sqlalchemy.stores.inventory import SqlInventoryStore
from eltiketi_adapters.sqlalchemy.stores.jobs import SqlJobStore
from eltiketi_adapters.sqlalchemy.stores.messaging import (
    SqlIdempotencyStore,
    SqlInboxStore,
    SqlOutboxStore,
)
from eltiketi_adapters.sqlalchemy.stores.notifications import SqlNotificationStore
from eltiketi_adapters.sqlalchemy.stores.orders import SqlOrderStore, SqlTicketStore
from eltiketi_adapters.sqlalchemy.stores.organizations import (
    SqlInvitationStore,
    SqlOrganizationStore,
)
from eltiketi_adapters.sqlalchemy.stores.payments import SqlPaymentStore, SqlRefundStore

__all__ = [
    "SqlBookingStore",
    "SqlCatalogStore",
    "SqlIdempotencyStore",
    "SqlInboxStore",
    "SqlInventoryStore",
    "SqlInvitationStore",
    "SqlJobStore",
    "SqlNotificationStore",
    "SqlOrderStore",
    "SqlOrganizationStore",
    "SqlOutboxStore",
    "SqlPaymentStore",
    "SqlRefundStore",
    "SqlTicketStore",
]
