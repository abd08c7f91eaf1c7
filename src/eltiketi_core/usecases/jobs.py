"""Background jobs: reading one (its owner), and running the due ones batch by batch.

Running is what the background loops call, in embedded mode and in ``eltiketi
worker jobs`` alike: :meth:`Jobs.run_due` claims due jobs under a lease, then
advances each by one transaction per batch. The transaction of a batch first
renews the lease (a compare-and-set on its owner), then does the work, then
records the progress; a runner that lost its lease to another writes nothing.
So a crash loses at most the batch in hand, and once the dead runner's lease
runs out the next claim carries on from the recorded cursor. A job is handed
back after ``policy.job_batches_per_claim`` batches, so several jobs and runners
share the work and a stopping process waits for one slice at most.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol
from uuid import UUID

import msgspec

from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.job import Job, JobKind, JobStatus
from eltiketi_core.errors import NotFound
from eltiketi_core.ports.clock import Clock
from eltiketi_core.ports.uow import UnitOfWork, UnitOfWorkFactory
from eltiketi_core.usecases.access import managed_event
from eltiketi_core.usecases.policy import Policy

log = logging.getLogger(__name__)

_replace = msgspec.structs.replace


class JobStep(Protocol):
    """What one kind of job does, one batch at a time."""

    async def step(self, uow: UnitOfWork, job: Job, now: datetime) -> Job:
        """Do the next batch of ``job`` in ``uow`` (the runner commits it).

        Returns the job with its new progress and cursor, ``done`` (with
        ``finished_at``) when nothing is left. Must be safe to run again after a
        rollback: every change it makes is a compare-and-set or unique.
        """
        ...


class Jobs:
    """Jobs for the REST edge (:meth:`get`) and for the background loops (:meth:`run_due`).

    Args:
        steps: what each kind of job does.
        owner: this runner's name in the leases it takes; unique per process.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        policy: Policy,
        steps: Mapping[JobKind, JobStep],
        *,
        owner: str,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._policy = policy
        self._steps = dict(steps)
        self.owner = owner

    async def get(self, principal: Principal, job_id: UUID) -> Job:
        """The job, for the owners and managers of its event's organization (and admins);
        a door member: 403; anyone else: 404 ``job_not_found``."""
        async with self._uow() as uow:
            job = await uow.jobs.get(job_id)
            if job is None:
                raise NotFound("job_not_found", "no such job")
            try:
                await managed_event(uow, principal, job.event_id)
            except NotFound as exc:
                raise NotFound("job_not_found", "no such job") from exc
        return job

    async def run_due(self, limit: int = 1) -> int:
        """Claim up to ``limit`` due jobs and advance each by up to a slice of batches.

        Returns how many batches were done (0: nothing was due, or the first batch
        failed), so a loop can call again at once while this is above 0.
        """
        now = self._clock.now()
        async with self._uow() as uow:
            claimed = await uow.jobs.claim(
                now, owner=self.owner, until=now + self._policy.job_lease, limit=limit
            )
            await uow.commit()
        batches = 0
        for job in claimed:
            batches += await self._advance(job)
        return batches

    async def _advance(self, job: Job) -> int:
        step = self._steps[job.kind]
        for done in range(self._policy.job_batches_per_claim):
            try:
                after = await self._batch(step, job)
            except Exception as error:
                await self._record_failure(job, error)
                return done
            if after is None:
                log.warning(
                    "job lease lost to another runner",
                    extra={"job": str(job.id), "owner": self.owner},
                )
                return done
            job = after
            if job.finished:
                log.info(
                    "job done",
                    extra={
                        "job": str(job.id),
                        "kind": job.kind.value,
                        "event": str(job.event_id),
                        "orders_refunded": job.orders_refunded,
                        "holds_released": job.holds_released,
                    },
                )
                return done + 1
        await self._hand_back(job)
        return self._policy.job_batches_per_claim

    async def _batch(self, step: JobStep, job: Job) -> Job | None:
        """One batch in one transaction; None (and nothing written) if the lease is gone."""
        now = self._clock.now()
        lease = now + self._policy.job_lease
        async with self._uow() as uow:
            if not await uow.jobs.update(_replace(job, lease_expires_at=lease), owner=self.owner):
                return None
            after = _replace(
                await step.step(uow, job, now), lease_expires_at=lease, failures=0, last_error=None
            )
            if after.finished:
                after = _replace(after, lease_owner=None, lease_expires_at=None)
            if not await uow.jobs.update(after, owner=self.owner):  # pragma: no cover
                return None  # the row has been ours since the first update
            await uow.commit()
        return after

    async def _hand_back(self, job: Job) -> None:
        """End the lease now: the job is due again for every runner, this one included."""
        async with self._uow() as uow:
            await uow.jobs.update(
                _replace(job, lease_expires_at=self._clock.now()), owner=self.owner
            )
            await uow.commit()

    async def _record_failure(self, job: Job, error: Exception) -> None:
        """Count the failure; retry after a backoff, or give up after ``job_max_failures``."""
        now = self._clock.now()
        failures = job.failures + 1
        give_up = failures >= self._policy.job_max_failures
        retry_at = now + self._policy.job_backoff * (2 ** (failures - 1))
        log.warning(
            "job batch failed",
            exc_info=error,
            extra={
                "job": str(job.id),
                "kind": job.kind.value,
                "failures": failures,
                "final": give_up,
            },
        )
        failed = _replace(
            job,
            failures=failures,
            last_error=f"{type(error).__name__}: {error}"[:500],
            status=JobStatus.FAILED if give_up else job.status,
            finished_at=now if give_up else None,
            lease_owner=None if give_up else self.owner,
            lease_expires_at=None if give_up else retry_at,
        )
        async with self._uow() as uow:
            await uow.jobs.update(failed, owner=self.owner)
            await uow.commit()
