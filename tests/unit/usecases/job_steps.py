"""Job steps that misbehave on purpose: a process dying mid-batch, a database outage.

They wrap the real step (:class:`~eltiketi_core.usecases.cancellation.EventCancellation`),
so what they do between their faults is the product's own work.
"""

from __future__ import annotations

from datetime import datetime

from eltiketi_core.domain.job import Job
from eltiketi_core.ports.uow import UnitOfWork
from eltiketi_core.usecases.jobs import JobStep


class Crash(BaseException):
    """The process dies: not an error the runner may catch and record."""


class CrashingStep:
    """The real cancellation step, but the process dies inside batch ``crash_in``
    (after the batch's work, before its commit)."""

    def __init__(self, inner: JobStep, crash_in: int) -> None:
        self._inner = inner
        self._crash_in = crash_in
        self.calls = 0

    async def step(self, uow: UnitOfWork, job: Job, now: datetime) -> Job:
        self.calls += 1
        after = await self._inner.step(uow, job, now)
        if self.calls == self._crash_in:
            raise Crash
        return after


class FailingStep:
    """The real step after ``failures`` batches that raise (a database outage)."""

    def __init__(self, inner: JobStep, failures: int) -> None:
        self._inner = inner
        self.failures = failures

    async def step(self, uow: UnitOfWork, job: Job, now: datetime) -> Job:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("server closed the connection unexpectedly")
        return await self._inner.step(uow, job, now)
