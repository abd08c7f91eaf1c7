"""In-memory adapters for every core port — the elTiketi testing kit.

``pip install eltiketi`` gives you these with the core (msgspec is the only
dependency). They pass the same contract suite as the SQL adapters
(``tests/contract``), so a test written against them means the same in
production. :class:`InMemoryTicketing` wires them all; the pytest plugin
(fixture ``eltiketi``) does it in one line; polyfactory factories live in
``eltiketi_adapters.memory.factories`` (``[testing]`` extra). See
``docs/testing-kit.md``.

:class:`TimeOrderedIds` and :class:`InProcessBus` are not test doubles: the app runs
on them (the bus delivers the embedded server's events to their handlers in this
process). The wall clock it runs on is ``eltiketi_adapters.system.SystemClock``.
"""

from eltiketi_adapters.memory.bus import InProcessBus
from eltiketi_adapters.memory.clock import FixedClock
from eltiketi_adapters.memory.contact import SimpleContactNormaliser
from eltiketi_adapters.memory.gateway import (
    SIGNATURE_HEADER,
    FakePayment,
    FakePaymentGateway,
)
from eltiketi_adapters.memory.ids import RandomIds, SequentialIds, TimeOrderedIds
from eltiketi_adapters.memory.kit import (
    KIT_ORGANIZER,
    KIT_STAFF,
    InMemoryTicketing,
    UndeliveredEvents,
)
from eltiketi_adapters.memory.notifier import NotifierDown, RecordingNotifier
from eltiketi_adapters.memory.signer import HmacTicketSigner
from eltiketi_adapters.memory.state import MemoryStorage
from eltiketi_adapters.memory.uow import (
    MemoryUnitOfWork,
    NestedUnitOfWorkError,
    memory_uow_factory,
)
from eltiketi_core.errors import InventoryInvariantError

__all__ = [
    "KIT_ORGANIZER",
    "KIT_STAFF",
    "SIGNATURE_HEADER",
    "FakePayment",
    "FakePaymentGateway",
    "FixedClock",
    "HmacTicketSigner",
    "InMemoryTicketing",
    "InProcessBus",
    "InventoryInvariantError",
    "MemoryStorage",
    "MemoryUnitOfWork",
    "NestedUnitOfWorkError",
    "NotifierDown",
    "RandomIds",
    "RecordingNotifier",
    "SequentialIds",
    "SimpleContactNormaliser",
    "TimeOrderedIds",
    "UndeliveredEvents",
    "memory_uow_factory",
]
