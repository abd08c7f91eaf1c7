"""How the relay worker paces its looks at the outbox (no database, no Kafka).

After a batch it looks again almost at once, backing off while the outbox stays
empty: events arriving a few milliseconds apart must not each wait for a full
poll interval, and an idle outbox must not be read hundreds of times a second.
"""

from __future__ import annotations

from collections import deque

from eltiketi_app.background.lease import LocalLease
from eltiketi_app.background.relay import RelayLoop, RelayTimings


class ScriptedRelay:
    """Stands in for the core's ``OutboxRelay``: each look sends the next scripted count."""

    def __init__(self, counts: list[int]) -> None:
        self.counts = deque(counts)

    async def relay_once(self) -> int:
        return self.counts.popleft()


async def _pauses(counts: list[int], timings: RelayTimings) -> list[float]:
    loop = RelayLoop(ScriptedRelay(counts), LocalLease(), timings)  # type: ignore[arg-type]
    return [await loop.step() for _ in counts]


async def test_after_a_batch_the_relay_looks_again_soon_and_backs_off_while_idle() -> None:
    timings = RelayTimings(poll_interval=0.5, quick_poll=0.01, batch=100)

    pauses = await _pauses([3, 0, 0, 0, 0, 0, 0, 0, 1, 0], timings)

    assert pauses == [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.5, 0.5, 0.01, 0.02]


async def test_after_a_full_batch_the_relay_looks_again_at_once() -> None:
    timings = RelayTimings(poll_interval=0.5, quick_poll=0.01, batch=100)

    pauses = await _pauses([100, 100, 40, 0], timings)

    assert pauses == [0.0, 0.0, 0.01, 0.02]


async def test_an_idle_relay_from_the_start_waits_the_whole_poll_interval() -> None:
    pauses = await _pauses([0, 0], RelayTimings(poll_interval=0.3, quick_poll=0.01))

    assert pauses == [0.3, 0.3]


async def test_the_quick_look_never_exceeds_the_poll_interval() -> None:
    pauses = await _pauses([1, 0, 0], RelayTimings(poll_interval=0.005, quick_poll=0.01))

    assert pauses == [0.005, 0.005, 0.005]
