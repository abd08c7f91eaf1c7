"""pytest plugin (entry point ``pytest11: eltiketi``): an in-memory elTiketi in one fixture.

.. code-block:: python

    async def test_buying(eltiketi):
        view = await eltiketi.event_on_sale(capacity=10)
        alice = eltiketi.customer("alice")
        await eltiketi.buy(alice, view.event.id, {view.ticket_types[0].id: 2})
        [notice] = eltiketi.notifier.tickets

Fixtures (prefixed so they never clash with yours; override any of them in
your ``conftest.py`` to change what ``eltiketi`` is built from):

* ``eltiketi`` — :class:`~eltiketi_adapters.memory.InMemoryTicketing`
* ``eltiketi_clock`` — :class:`~eltiketi_adapters.memory.FixedClock`
* ``eltiketi_gateway`` — :class:`~eltiketi_adapters.memory.FakePaymentGateway`
* ``eltiketi_notifier`` — :class:`~eltiketi_adapters.memory.RecordingNotifier` (email)
* ``eltiketi_storage`` — :class:`~eltiketi_adapters.memory.MemoryStorage`
* ``eltiketi_policy`` — :class:`~eltiketi_core.usecases.Policy` (hold time, limits…)

pytest loads this module in every run of an environment where elTiketi is
installed, so it imports nothing at load time beyond pytest itself: elTiketi is
imported when a fixture is first used, and nothing here needs the ``[testing]``
extra (polyfactory) or the app. The fixtures are synchronous; the tests that use
them are ``async`` and need an asyncio runner (pytest-asyncio or anyio).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from eltiketi_adapters.memory import (
        FakePaymentGateway,
        FixedClock,
        InMemoryTicketing,
        MemoryStorage,
        RecordingNotifier,
    )
    from eltiketi_core.usecases import Policy


@pytest.fixture
def eltiketi_clock() -> FixedClock:
    """A clock at 2030-01-01 12:00 UTC that moves only with ``advance``/``set``."""
    from eltiketi_adapters.memory import FixedClock

    return FixedClock()


@pytest.fixture
def eltiketi_storage() -> MemoryStorage:
    """A fresh, empty in-memory database."""
    from eltiketi_adapters.memory import MemoryStorage

    return MemoryStorage()


@pytest.fixture
def eltiketi_gateway() -> FakePaymentGateway:
    """The fake payment gateway: ``approve(reference)`` / ``decline(reference)``."""
    from eltiketi_adapters.memory import FakePaymentGateway

    return FakePaymentGateway()


@pytest.fixture
def eltiketi_notifier() -> RecordingNotifier:
    """Records every e-mail notice: ``.tickets``, ``.refunds``, ``.payment_problems``."""
    from eltiketi_adapters.memory import RecordingNotifier

    return RecordingNotifier("email")


@pytest.fixture
def eltiketi_policy() -> Policy:
    """The default business policy (15-minute holds, 10 tickets per buyer…)."""
    from eltiketi_core.usecases import Policy

    return Policy()


@pytest.fixture
def eltiketi(
    eltiketi_clock: FixedClock,
    eltiketi_storage: MemoryStorage,
    eltiketi_gateway: FakePaymentGateway,
    eltiketi_notifier: RecordingNotifier,
    eltiketi_policy: Policy,
) -> InMemoryTicketing:
    """A fully wired in-memory elTiketi built from the fixtures above."""
    from eltiketi_adapters.memory import InMemoryTicketing

    return InMemoryTicketing(
        clock=eltiketi_clock,
        storage=eltiketi_storage,
        gateway=eltiketi_gateway,
        notifier=eltiketi_notifier,
        policy=eltiketi_policy,
    )
