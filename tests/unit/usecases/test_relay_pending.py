"""OutboxRelay.relay_pending: what was committed goes out, without a last empty read."""

from __future__ import annotations

from eltiketi_adapters.memory import InMemoryTicketing
from eltiketi_core.usecases.relay import OutboxRelay
from tests.contract.builders import booking_created


async def _commit_events(kit: InMemoryTicketing, count: int) -> None:
    async with kit.uow() as uow:
        uow.record(*(booking_created(seconds=i) for i in range(count)))
        await uow.commit()


class Published:
    def __init__(self) -> None:
        self.events: list[object] = []

    async def publish(self, events: object) -> None:
        self.events.extend(events)  # type: ignore[call-overload]


async def test_relay_pending_reads_until_a_short_batch() -> None:
    kit = InMemoryTicketing()
    bus = Published()
    relay = OutboxRelay(kit.uow, bus, kit.clock, batch=2)
    reads = 0
    inner = relay.relay_once

    async def counted() -> int:
        nonlocal reads
        reads += 1
        return await inner()

    relay.relay_once = counted  # type: ignore[method-assign]
    await _commit_events(kit, 3)
    assert await relay.relay_pending() == 3
    assert (len(bus.events), reads) == (3, 2)  # 2 + 1: the short batch ends it
    await _commit_events(kit, 2)
    assert await relay.relay_pending() == 2
    assert reads == 4  # a full batch of 2, then the empty read that proves the end
    assert await relay.relay_pending() == 0
