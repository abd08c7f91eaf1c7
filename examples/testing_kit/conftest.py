"""Another team's conftest: what it takes to test against elTiketi with the testing kit.

Installing ``eltiketi[testing]`` registers the pytest plugin, so the fixtures
``eltiketi``, ``eltiketi_clock``, ``eltiketi_gateway``, ``eltiketi_notifier``,
``eltiketi_storage`` and ``eltiketi_policy`` exist without any import. The only
other need is an asyncio runner for ``async def`` tests: pytest-asyncio with
``asyncio_mode = "auto"`` here (this repository's pyproject.toml sets it; in
your project put it in your own pytest configuration).

Below, the team adds fixtures of its own on top of the kit's.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from eltiketi_adapters.memory import InMemoryTicketing
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.money import Money
from eltiketi_core.usecases import EventView, NewTicketType, Policy


@pytest.fixture
def eltiketi_policy() -> Policy:
    """Overriding a kit fixture changes the kit: our holds last 10 minutes."""
    return Policy(hold_ttl=timedelta(minutes=10), max_tickets_per_buyer=6)


@pytest.fixture
def alice() -> Principal:
    return Principal(subject="alice", email="alice@example.org", phone="+4915112345678")


@pytest.fixture
async def concert(eltiketi: InMemoryTicketing) -> EventView:
    """A published concert with 20 standing and 5 VIP tickets."""
    return await eltiketi.event_on_sale(
        name="Open Air",
        ticket_types=[
            NewTicketType(name="Standing", price=Money(4500, "EUR"), capacity=20),
            NewTicketType(name="VIP", price=Money(12000, "EUR"), capacity=5),
        ],
    )
