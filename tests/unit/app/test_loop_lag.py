"""The event-loop lag monitor: a blocked loop shows as lag, and a long one is logged."""

from __future__ import annotations

import asyncio
import time

from structlog.testing import capture_logs

from eltiketi_app.metrics import Metrics
from eltiketi_app.runtime.lag import LoopLagMonitor


def _looks(metrics: Metrics, at_least: float) -> float:
    """How many looks ran at least ``at_least`` seconds late (from the histogram)."""
    total = metrics.registry.get_sample_value("eltiketi_event_loop_lag_seconds_count") or 0.0
    under = (
        metrics.registry.get_sample_value(
            "eltiketi_event_loop_lag_seconds_bucket", {"le": str(at_least)}
        )
        or 0.0
    )
    return total - under


async def test_a_blocked_loop_is_measured_and_logged() -> None:
    metrics = Metrics()
    monitor = LoopLagMonitor(metrics, interval=0.01, warn_after=0.1)
    with capture_logs() as logs:
        monitor.start()
        await asyncio.sleep(0.05)
        time.sleep(0.3)  # noqa: ASYNC251 - holds the loop, as a CPU-heavy step would
        await asyncio.sleep(0.05)
        await monitor.stop()

    assert _looks(metrics, 0.25) == 1
    stalls = [entry for entry in logs if entry["event"] == "event loop stalled"]
    assert len(stalls) == 1
    assert stalls[0]["log_level"] == "warning"
    assert 250 <= stalls[0]["lag_ms"] < 1000


async def test_a_free_loop_logs_nothing() -> None:
    metrics = Metrics()
    # warn_after well above what a busy CI machine's scheduler may add
    monitor = LoopLagMonitor(metrics, interval=0.01, warn_after=0.5)
    with capture_logs() as logs:
        monitor.start()
        await asyncio.sleep(0.2)
        await monitor.stop()

    assert (metrics.registry.get_sample_value("eltiketi_event_loop_lag_seconds_count") or 0) >= 5
    assert not [entry for entry in logs if entry["event"] == "event loop stalled"]
