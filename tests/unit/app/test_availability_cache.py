"""The event-view cache: TTL from the start of a load, single flight, bounds, invalidation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import pytest

from eltiketi_adapters.memory.factories import EventFactory
from eltiketi_app.http.availability_cache import (
    DEFAULT_TTL_MS,
    ReadCache,
    build_event_view_cache,
)
from eltiketi_app.ioc.stores import memory_persistence
from eltiketi_app.ioc.types import Persistence
from eltiketi_app.settings import Settings
from eltiketi_core.usecases.catalog import EventView

EVENT_ID = UUID("0190a5a0-0000-7000-8000-000000000001")


class FakeClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.ms = 1_000_000  # whole milliseconds, so no float drift decides a test

    def __call__(self) -> float:
        return self.ms / 1000

    def advance(self, ms: int) -> None:
        self.ms += ms


class Source:
    """A load that counts its calls and returns the current version of its data."""

    def __init__(self) -> None:
        self.calls = 0
        self.version = 0
        self.gate: asyncio.Event | None = None
        self.during: Callable[[], None] | None = None
        self.error: Exception | None = None

    async def load(self) -> int:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.during is not None:
            self.during()
        if self.error is not None:
            raise self.error
        return self.version


def cache(clock: FakeClock, *, ttl_ms: int = 500, max_entries: int = 100) -> ReadCache[str, int]:
    return ReadCache(ttl_ms=ttl_ms, max_entries=max_entries, clock=clock)


async def until_waiting(source: Source, calls: int = 1) -> None:
    """Let the loop run until ``source`` has been called ``calls`` times."""
    for _ in range(100):
        if source.calls >= calls:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"load called {source.calls} times, expected {calls}")


async def test_a_value_is_served_until_the_ttl_and_loaded_again_at_the_ttl() -> None:
    clock, source = FakeClock(), Source()
    views = cache(clock)
    assert await views.get("e", source.load) == 0
    source.version = 1
    clock.advance(499)
    assert await views.get("e", source.load) == 0
    assert source.calls == 1
    clock.advance(1)
    assert await views.get("e", source.load) == 1
    assert source.calls == 2
    assert (views.stats.hits, views.stats.loads) == (1, 2)


async def test_the_age_of_an_entry_counts_from_the_start_of_its_load() -> None:
    clock, source = FakeClock(), Source()
    views = cache(clock)
    source.during = lambda: clock.advance(300)  # the database read takes 300 ms
    assert await views.get("e", source.load) == 0
    source.during = None
    source.version = 1
    clock.advance(199)  # 499 ms after the read started
    assert await views.get("e", source.load) == 0
    clock.advance(1)  # 500 ms after the read started: too old, although stored 200 ms ago
    assert await views.get("e", source.load) == 1


async def test_a_load_slower_than_the_ttl_is_answered_but_not_stored() -> None:
    clock, source = FakeClock(), Source()
    views = cache(clock)
    source.during = lambda: clock.advance(600)
    assert await views.get("e", source.load) == 0
    source.during = None
    source.version = 1
    assert await views.get("e", source.load) == 1
    assert source.calls == 2


async def test_ttl_zero_turns_the_cache_off() -> None:
    clock, source = FakeClock(), Source()
    views = cache(clock, ttl_ms=0)
    assert not views.enabled
    for version in range(3):
        source.version = version
        assert await views.get("e", source.load) == version
    assert source.calls == 3
    assert views.stats.size == 0


async def test_concurrent_misses_for_one_key_share_one_load() -> None:
    clock, source = FakeClock(), Source()
    views = cache(clock)
    source.gate = asyncio.Event()
    readers = [asyncio.create_task(views.get("e", source.load)) for _ in range(20)]
    await until_waiting(source)
    for _ in range(5):
        await asyncio.sleep(0)
    assert source.calls == 1
    source.version = 7
    source.gate.set()
    assert await asyncio.gather(*readers) == [7] * 20
    assert source.calls == 1


async def test_different_keys_load_separately() -> None:
    clock = FakeClock()
    views = cache(clock)
    first, second = Source(), Source()
    second.version = 2
    assert list(await asyncio.gather(views.get("a", first.load), views.get("b", second.load))) == [
        0,
        2,
    ]
    assert (first.calls, second.calls) == (1, 1)


async def test_a_reader_that_goes_away_does_not_cancel_the_shared_load() -> None:
    clock, source = FakeClock(), Source()
    views = cache(clock)
    source.gate = asyncio.Event()
    leader = asyncio.create_task(views.get("e", source.load))
    await until_waiting(source)
    follower = asyncio.create_task(views.get("e", source.load))
    await asyncio.sleep(0)
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    source.version = 3
    source.gate.set()
    assert await follower == 3
    assert source.calls == 1


async def test_a_failed_load_reaches_every_waiter_and_is_not_stored() -> None:
    clock, source = FakeClock(), Source()
    views = cache(clock)
    source.gate = asyncio.Event()
    source.error = LookupError("no such event")
    readers = [asyncio.create_task(views.get("e", source.load)) for _ in range(3)]
    await until_waiting(source)
    source.gate.set()
    results = await asyncio.gather(*readers, return_exceptions=True)
    assert all(isinstance(r, LookupError) for r in results), results
    source.error, source.gate = None, None
    assert await views.get("e", source.load) == 0
    assert source.calls == 2


async def test_invalidate_drops_the_entry() -> None:
    clock, source = FakeClock(), Source()
    views = cache(clock)
    await views.get("e", source.load)
    source.version = 1
    views.invalidate("e")
    assert await views.get("e", source.load) == 1


async def test_a_load_in_flight_during_an_invalidation_is_answered_but_never_stored() -> None:
    """A read that began before a commit must not be kept after the commit's invalidation."""
    clock, source = FakeClock(), Source()
    views = cache(clock)
    source.gate = asyncio.Event()
    before = asyncio.create_task(views.get("e", source.load))
    await until_waiting(source)
    views.invalidate("e")  # this process commits a change to the event's stock
    source.gate.set()
    assert await before == 0
    source.gate = None
    source.version = 1
    assert await views.get("e", source.load) == 1
    assert source.calls == 2


async def test_a_reader_after_an_invalidation_does_not_join_the_older_load() -> None:
    clock, source = FakeClock(), Source()
    views = cache(clock)
    source.gate = asyncio.Event()
    before = asyncio.create_task(views.get("e", source.load))
    await until_waiting(source)
    views.clear()
    after = asyncio.create_task(views.get("e", source.load))
    await until_waiting(source, calls=2)
    source.gate.set()
    await asyncio.gather(before, after)
    assert source.calls == 2


async def test_clear_drops_every_entry() -> None:
    clock, source = FakeClock(), Source()
    views = cache(clock)
    for key in "abc":
        await views.get(key, source.load)
    views.clear()
    assert views.stats.size == 0
    await views.get("a", source.load)
    assert source.calls == 4


async def test_the_cache_keeps_at_most_max_entries_least_recently_used_first_out() -> None:
    clock, source = FakeClock(), Source()
    views = cache(clock, max_entries=2)
    await views.get("a", source.load)
    await views.get("b", source.load)
    await views.get("a", source.load)  # a is now the most recently used
    await views.get("c", source.load)  # evicts b
    assert views.stats.size == 2
    assert source.calls == 3
    await views.get("a", source.load)
    await views.get("c", source.load)
    assert source.calls == 3
    await views.get("b", source.load)
    assert source.calls == 4


@pytest.mark.parametrize(("ttl_ms", "max_entries"), [(-1, 10), (500, 0)])
def test_nonsense_bounds_are_refused(ttl_ms: int, max_entries: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        ReadCache[str, int](ttl_ms=ttl_ms, max_entries=max_entries)


def _view(name: str) -> EventView:
    return EventView(event=EventFactory.build(id=EVENT_ID, name=name), ticket_types=())


async def test_the_app_cache_keeps_views_half_a_second_and_the_commit_hook_clears_it(
    tmp_path: Path,
) -> None:
    listeners: list[Callable[[], None]] = []
    base = memory_persistence()
    persistence = Persistence(
        uow=base.uow, kind=base.kind, ping=base.ping, subscribe_commits=listeners.append
    )
    clock = FakeClock()
    views = build_event_view_cache(Settings(data_dir=tmp_path), persistence, clock=clock)
    assert len(listeners) == 1
    names = iter(["v1", "v2", "v3"])

    async def load() -> EventView:
        return _view(next(names))

    assert (await views.get(EVENT_ID, load)).event.name == "v1"
    clock.advance(DEFAULT_TTL_MS - 1)
    assert (await views.get(EVENT_ID, load)).event.name == "v1"
    clock.advance(1)
    assert (await views.get(EVENT_ID, load)).event.name == "v2"
    listeners[0]()  # this process committed a change
    assert (await views.get(EVENT_ID, load)).event.name == "v3"
