"""The money model (:mod:`tests.unit.usecases.money_model`) on PostgreSQL, at a smaller size.

The same rules and invariants as on the in-memory kit, with the SQL adapter's stores,
transactions and constraints underneath: every example starts from empty tables of one
migrated database. Fewer examples and steps than in memory, so it stays well under a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from tests.contract.backends import empty_postgres
from tests.integration.sqlalchemy.database import fresh_postgres_database
from tests.unit.usecases.money_model import MoneyMachine, Shop

pytestmark = pytest.mark.postgres


class PostgresMoneyMachine(MoneyMachine):
    """Every example empties the tables of the test's database first."""

    loop: asyncio.AbstractEventLoop
    db: SqlAlchemyPersistence

    def event_loop(self) -> asyncio.AbstractEventLoop:
        return self.loop

    async def make_shop(self) -> Shop:
        await empty_postgres(self.db)
        return Shop(self.db.uow_factory())


@pytest.fixture
def database() -> Iterator[tuple[asyncio.AbstractEventLoop, SqlAlchemyPersistence]]:
    """A migrated database and a small pool, both on a private event loop (the machine
    drives it step by step; never installed as the thread's loop)."""
    loop = asyncio.new_event_loop()
    stack = contextlib.AsyncExitStack()
    try:
        url = loop.run_until_complete(
            stack.enter_async_context(fresh_postgres_database("money_model"))
        )
        db = loop.run_until_complete(
            stack.enter_async_context(SqlAlchemyPersistence(url, pool_size=2, max_overflow=2))
        )
        yield loop, db
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()


def test_money_and_stock_balance_after_every_step_on_postgres(
    database: tuple[asyncio.AbstractEventLoop, SqlAlchemyPersistence],
) -> None:
    PostgresMoneyMachine.loop, PostgresMoneyMachine.db = database
    run_state_machine_as_test(
        PostgresMoneyMachine,
        settings=settings(
            max_examples=70,
            stateful_step_count=35,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
