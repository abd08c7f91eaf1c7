"""The bench reads the group commit's batch sizes from the API's ``/metrics``."""

from __future__ import annotations

from eltiketi_bench.scenarios import batch_summary


def test_batch_sizes_between_two_scrapes() -> None:
    before = {
        "count": 2.0,
        "sum": 3.0,
        "le:1.0": 1.0,
        "le:2.0": 2.0,
        "le:4.0": 2.0,
        "le:64.0": 2.0,
        "le:+Inf": 2.0,
    }
    after = {
        "count": 12.0,
        "sum": 103.0,
        "le:1.0": 4.0,  # 3 batches of one
        "le:2.0": 7.0,  # 2 of two
        "le:4.0": 7.0,
        "le:64.0": 11.0,  # 4 of 5-64
        "le:+Inf": 12.0,  # 1 larger
    }
    assert batch_summary(before, after) == {
        "batches": 10,
        "holds": 100,
        "mean": 10.0,
        "by_size": {"1": 3, "2": 2, "5-64": 4, "65+": 1},
    }


def test_no_batches_no_summary() -> None:
    same = {"count": 4.0, "sum": 9.0, "le:+Inf": 4.0}
    assert batch_summary(same, same) == {}
