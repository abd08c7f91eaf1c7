"""Run sizes: the smoke size stays small but runs everything; full and quick keep their setup."""

from __future__ import annotations

import msgspec
import pytest

from eltiketi_bench.profiles import API_PROCESSES, FULL, QUICK, SMOKE, Size, parse_scenarios


def test_smoke_runs_every_scenario_with_some_load() -> None:
    numbers = {
        name: value
        for name, value in msgspec.structs.asdict(SMOKE).items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    assert numbers and all(value > 0 for value in numbers.values()), numbers
    assert SMOKE.flash_capacity >= SMOKE.flash_buyers  # every buyer can get a ticket
    assert SMOKE.flash_capacity >= SMOKE.shards
    assert [s.value for s in parse_scenarios(None)] == ["a", "b", "c", "d", "e", "f", "g", "h"]


@pytest.mark.parametrize("size", [FULL, QUICK], ids=lambda s: s.name)
def test_only_smoke_trims_the_kafka_side(size: Size) -> None:
    assert size.kafka_api_processes == API_PROCESSES
    assert not size.kafka_one_worker
    assert not size.overlap_startup
    assert SMOKE.kafka_api_processes == 1 and SMOKE.kafka_one_worker


def test_smoke_is_smaller_than_quick_everywhere() -> None:
    for name in (
        "flash_capacity",
        "purchase_seconds",
        "kafka_seconds",
        "read_seconds",
        "open_loop_seconds",
        "raw_seconds",
    ):
        assert getattr(SMOKE, name) < getattr(QUICK, name) <= getattr(FULL, name), name
