"""Watching the event loop: how late it runs a timer is how long every request waited.

One process serves every request on one event loop, so anything that holds the
loop — a CPU-heavy step, a blocking call, a full garbage collection — delays
all requests in flight at once. Request timings show the symptom on every
route; this shows the cause as one number per process: the
``eltiketi_event_loop_lag_seconds`` histogram, and a warning in the log when
a timer ran ``warn_after`` seconds late or more.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from eltiketi_app.metrics import Metrics

log = structlog.get_logger("eltiketi.runtime")


class LoopLagMonitor:
    """Sleeps ``interval`` seconds in a loop and records how much longer each sleep took.

    Args:
        metrics: where the lag is observed.
        interval: time between two looks (a look costs microseconds).
        warn_after: a lag this long or longer is logged as a warning.
    """

    def __init__(self, metrics: Metrics, *, interval: float = 0.1, warn_after: float = 0.1):
        self._metrics = metrics
        self._interval = interval
        self._warn_after = warn_after
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._watch(), name="eltiketi-loop-lag")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time() + self._interval
            await asyncio.sleep(self._interval)
            self.observe(loop.time() - asked)

    def observe(self, lag: float) -> None:
        """Record one look that ran ``lag`` seconds after it was due."""
        lag = max(lag, 0.0)
        self._metrics.loop_lag.observe(lag)
        if lag >= self._warn_after:
            log.warning("event loop stalled", lag_ms=round(lag * 1000, 1))
