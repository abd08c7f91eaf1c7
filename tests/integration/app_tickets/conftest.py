"""Fixtures for the e-ticket tests through the real app (issue 7).

PostgreSQL (for tests that need real concurrency or two app instances on one database):
one database per test session, created and migrated once, dropped at the end. Each test
creates its own event, so tests never see each other's rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from eltiketi_adapters.tickets import generate_key_set
from tests.integration.sqlalchemy.database import fresh_postgres_database


@pytest.fixture(scope="session")
async def tickets_pg_url() -> AsyncIterator[str]:
    async with fresh_postgres_database("app_tickets") as url:
        yield url


@pytest.fixture
def ticket_keys() -> str:
    """A fresh private JWK set, the value of ``ELTIKETI_TICKET_KEYS``."""
    return generate_key_set()
