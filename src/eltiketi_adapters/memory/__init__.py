"""In-memory adapters for every core port — the elTiketi testing kit.

``pip install eltiketi`` gives you these with the core (msgspec is the only
dependency). They obey the same contract tests as the SQL adapters, so a test
suite written against them means the same thing in production. See
``docs/testing-kit.md``; the pytest plugin (``[testing]`` extra) wires them in
one line.
"""

from eltiketi_adapters.memory.clock import FixedClock, SystemClock
from eltiketi_adapters.memory.gateway import FakePayment, FakePaymentGateway
from eltiketi_adapters.memory.ids import SequentialIds, TimeOrderedIds
from eltiketi_adapters.memory.kit import InMemoryTicketing
from eltiketi_adapters.memory.notifier import NotifierDown, RecordingNotifier
from eltiketi_adapters.memory.signer import HmacTicketSigner
from eltiketi_adapters.memory.state import MemoryStorage
from eltiketi_adapters.memory.stores import InventoryInvariantError
from eltiketi_adapters.memory.uow import MemoryUnitOfWork, NestedUnitOfWorkError, memory_uow_factory

__all__ = [
    "FakePayment",
    "FakePaymentGateway",
    "FixedClock",
    "HmacTicketSigner",
    "InMemoryTicketing",
    "InventoryInvariantError",
    "MemoryStorage",
    "MemoryUnitOfWork",
    "NestedUnitOfWorkError",
    "NotifierDown",
    "RecordingNotifier",
    "SequentialIds",
    "SystemClock",
    "TimeOrderedIds",
    "memory_uow_factory",
]
