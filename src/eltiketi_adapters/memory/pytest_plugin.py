"""pytest plugin (entry point ``eltiketi``): an in-memory elTiketi in one fixture.

    async def test_buying(eltiketi):
        event = await eltiketi.core.catalog.create_event(organizer, NewEvent(...))

Fixtures: ``eltiketi`` (:class:`InMemoryTicketing`), ``eltiketi_clock``
(a :class:`FixedClock`), ``eltiketi_gateway`` (:class:`FakePaymentGateway`),
``eltiketi_notifier`` (:class:`RecordingNotifier`), ``eltiketi_storage``.
Only the standard library, pytest and elTiketi's own core are imported, so the
plugin never breaks a run where the ``[testing]`` extra is absent.
"""

from __future__ import annotations

import pytest

from eltiketi_adapters.memory.clock import FixedClock
from eltiketi_adapters.memory.gateway import FakePaymentGateway
from eltiketi_adapters.memory.kit import InMemoryTicketing
from eltiketi_adapters.memory.notifier import RecordingNotifier
from eltiketi_adapters.memory.state import MemoryStorage


@pytest.fixture
def eltiketi_clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def eltiketi_storage() -> MemoryStorage:
    return MemoryStorage()


@pytest.fixture
def eltiketi(eltiketi_clock: FixedClock, eltiketi_storage: MemoryStorage) -> InMemoryTicketing:
    return InMemoryTicketing(clock=eltiketi_clock, storage=eltiketi_storage)


@pytest.fixture
def eltiketi_gateway(eltiketi: InMemoryTicketing) -> FakePaymentGateway:
    return eltiketi.gateway


@pytest.fixture
def eltiketi_notifier(eltiketi: InMemoryTicketing) -> RecordingNotifier:
    return eltiketi.notifier
