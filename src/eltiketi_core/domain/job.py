"""Background jobs: work too long for one request, done in batches by whichever runner holds it.

A job is a row, so it survives the process that started it. A runner *claims*
a due job and holds it under a **lease** (``lease_owner`` until
``lease_expires_at``) that it renews with every batch; each batch is one
transaction that also records the job's progress, so a crash loses at most the
batch in hand, and once the lease runs out another runner carries on from the
recorded ``cursor``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

import msgspec


class JobKind(StrEnum):
    EVENT_CANCELLATION = "event_cancellation"


class JobStatus(StrEnum):
    """``queued`` until a runner first claims it; ``running`` until ``done`` or ``failed``.

    A ``running`` job whose lease has run out (its runner died, or handed it back
    after a slice of batches) is due again: any runner may claim it.
    """

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


#: Statuses a runner may still work on.
ACTIVE_JOB_STATUSES = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})


class Job(msgspec.Struct, frozen=True, kw_only=True):
    """One job and its progress.

    Attributes:
        orders_remaining: confirmed orders not yet visited; counted when the job is
            created, exact (0) once it is done.
        cursor: the keyset position, the id of the last order visited; the next
            batch starts after it.
        failures: batches that failed in a row; reset by a batch that succeeds.
        last_error: the last failure as the runner saw it (for operators; never
            shown to API clients as is).
    """

    id: UUID
    kind: JobKind
    event_id: UUID
    requested_by: str
    status: JobStatus
    created_at: datetime
    orders_refunded: int = 0
    holds_released: int = 0
    orders_remaining: int = 0
    cursor: UUID | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    failures: int = 0
    last_error: str | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status not in ACTIVE_JOB_STATUSES
