"""Clocks and id sources."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest

from eltiketi_adapters.memory import FixedClock, RandomIds, SequentialIds, TimeOrderedIds
from eltiketi_adapters.system import SystemClock
from eltiketi_core.ports.clock import Clock, IdGenerator


def test_fixed_clock_stands_still_until_moved() -> None:
    clock: Clock = FixedClock()
    assert clock.now() == clock.now() == datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def test_fixed_clock_advances_by_seconds_timedelta_or_keywords() -> None:
    clock = FixedClock(datetime(2031, 5, 1, tzinfo=UTC))
    assert clock.advance(30) == datetime(2031, 5, 1, 0, 0, 30, tzinfo=UTC)
    assert clock.advance(timedelta(minutes=1)) == datetime(2031, 5, 1, 0, 1, 30, tzinfo=UTC)
    assert clock.advance(minutes=15, seconds=0.5) == datetime(
        2031, 5, 1, 0, 16, 30, 500_000, tzinfo=UTC
    )
    assert clock.now() == datetime(2031, 5, 1, 0, 16, 30, 500_000, tzinfo=UTC)


def test_fixed_clock_only_goes_back_when_set() -> None:
    clock = FixedClock()
    with pytest.raises(ValueError, match="forwards"):
        clock.advance(-1)
    earlier = datetime(2029, 1, 1, tzinfo=UTC)
    assert clock.set(earlier) == earlier
    assert clock.now() == earlier


def test_fixed_clock_is_utc_and_refuses_naive_times() -> None:
    berlin = timezone(timedelta(hours=2))
    clock = FixedClock(datetime(2030, 6, 1, 14, 0, tzinfo=berlin))
    assert clock.now().utcoffset() == timedelta(0)
    assert clock.now() == datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedClock(datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2030, 1, 1))


def test_system_clock_is_aware_utc_now() -> None:
    before = datetime.now(UTC)
    now = SystemClock().now()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert before <= now <= datetime.now(UTC)


def test_time_ordered_ids_are_uuid7_and_strictly_increasing() -> None:
    ids: IdGenerator = TimeOrderedIds()
    made = [ids.new_id() for _ in range(20_000)]  # many share a millisecond
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert all(u.version == 7 for u in made)
    assert all(u.variant == "specified in RFC 4122" for u in made)


def test_time_ordered_ids_carry_the_time() -> None:
    before = int(datetime.now(UTC).timestamp() * 1000)
    made = TimeOrderedIds().new_id()
    after = int(datetime.now(UTC).timestamp() * 1000)
    assert before <= made.int >> 80 <= after


def test_time_ordered_ids_are_unique_across_threads() -> None:
    ids = TimeOrderedIds()
    made: list[UUID] = []
    lock = threading.Lock()

    def work() -> None:
        mine = [ids.new_id() for _ in range(2000)]
        with lock:
            made.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(made)) == 16_000


def test_random_ids_are_uuid4() -> None:
    ids = RandomIds()
    made = {ids.new_id() for _ in range(100)}
    assert len(made) == 100
    assert all(u.version == 4 for u in made)


def test_sequential_ids_are_predictable() -> None:
    ids = SequentialIds()
    assert [str(ids.new_id()) for _ in range(2)] == [
        "00000000-0000-0000-0000-000000000001",
        "00000000-0000-0000-0000-000000000002",
    ]
    assert SequentialIds(start=10).new_id() == UUID(int=10)
    other = SequentialIds(prefix=7).new_id()
    assert other != UUID(int=1)
    assert other == UUID("00000007-0000-0000-0000-000000000001")
