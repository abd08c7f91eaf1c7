"""The money model (:mod:`tests.unit.usecases.money_model`) on the in-memory testing kit."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from eltiketi_adapters.memory import MemoryStorage, memory_uow_factory
from tests.unit.usecases.money_model import MoneyMachine, Shop


class MemoryMoneyMachine(MoneyMachine):
    """A fresh in-memory storage per example; one private event loop for the whole run."""

    loop: asyncio.AbstractEventLoop

    def event_loop(self) -> asyncio.AbstractEventLoop:
        return self.loop

    async def make_shop(self) -> Shop:
        return Shop(memory_uow_factory(MemoryStorage()))


@pytest.fixture
def private_loop() -> Iterator[asyncio.AbstractEventLoop]:
    # Never installed as the thread's current loop: asyncio.run() would reset it
    # afterwards and strand the suite's session loop.
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def test_money_and_stock_balance_after_every_step(private_loop: asyncio.AbstractEventLoop) -> None:
    MemoryMoneyMachine.loop = private_loop
    run_state_machine_as_test(
        MemoryMoneyMachine,
        settings=settings(
            max_examples=600,
            stateful_step_count=50,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
