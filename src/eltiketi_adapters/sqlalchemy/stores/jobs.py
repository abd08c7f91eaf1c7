"""Background jobs and their leases.

Every statement is built once, at import, with ``p_``-prefixed bind parameters
and executed with a dict (see :mod:`.notifications`). Times are bound with the
column type, so SQLite stores them exactly as the rest of the row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Integer, and_, bindparam, func, or_, select, update

from eltiketi_adapters.sqlalchemy._tx import Tx, insert_unless_exists
from eltiketi_adapters.sqlalchemy.models import JobRow, Timestamp
from eltiketi_adapters.sqlalchemy.rows import bind_values, from_row, row_values
from eltiketi_core.domain.job import Job, JobKind, JobStatus

_jobs = JobRow.__table__

_BY_ID = select(_jobs).where(JobRow.id == bindparam("p_id"))
_FOR_EVENT = select(_jobs).where(
    JobRow.event_id == bindparam("p_event_id"), JobRow.kind == bindparam("p_kind")
)
_NOW = bindparam("p_now", type_=Timestamp)
# Queued, or running under a lease that ended: the oldest first.
_DUE = (
    select(JobRow.id)
    .where(
        or_(
            JobRow.status == JobStatus.QUEUED.value,
            and_(
                JobRow.status == JobStatus.RUNNING.value,
                or_(JobRow.lease_expires_at.is_(None), JobRow.lease_expires_at <= _NOW),
            ),
        )
    )
    .order_by(JobRow.created_at, JobRow.id)
    .limit(bindparam("p_limit", type_=Integer))
)


def _claim(due: Any) -> Any:
    return (
        update(JobRow)
        .where(JobRow.id.in_(due))
        .values(
            status=JobStatus.RUNNING.value,
            lease_owner=bindparam("p_owner"),
            lease_expires_at=bindparam("p_until", type_=Timestamp),
            started_at=func.coalesce(JobRow.started_at, _NOW),
        )
        .returning(*_jobs.c)
    )


_CLAIM_PG = _claim(_DUE.with_for_update(skip_locked=True))
_CLAIM_SQLITE = _claim(_DUE)  # one writer at a time: nothing to skip
_KEYS = ("id", "event_id", "kind")
# SET <every column but the keys> = :p_<column> WHERE <keys match> AND the lease owner is …
_UPDATE = (
    update(JobRow)
    .where(
        JobRow.id == bindparam("p_id"),
        JobRow.event_id == bindparam("p_event_id"),
        JobRow.kind == bindparam("p_kind"),
        JobRow.lease_owner.is_not_distinct_from(bindparam("p_expected_owner")),
    )
    .values(
        {column.key: bindparam(f"p_{column.key}") for column in _jobs.c if column.key not in _KEYS}
    )
)


class SqlJobStore:
    """:class:`~eltiketi_core.ports.JobStore`; unique (event_id, kind)."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add(self, job: Job) -> bool:
        return await insert_unless_exists(
            self._tx, JobRow, row_values(job), conflict_on=[JobRow.event_id, JobRow.kind]
        )

    async def get(self, job_id: UUID) -> Job | None:
        row = await self._tx.first(_BY_ID, {"p_id": job_id})
        return from_row(Job, row._mapping) if row else None

    async def for_event(self, event_id: UUID, kind: JobKind) -> Job | None:
        row = await self._tx.first(_FOR_EVENT, {"p_event_id": event_id, "p_kind": kind.value})
        return from_row(Job, row._mapping) if row else None

    async def claim(self, now: datetime, *, owner: str, until: datetime, limit: int) -> list[Job]:
        statement = _CLAIM_PG if self._tx.is_postgres else _CLAIM_SQLITE
        rows = await self._tx.rows(
            statement, {"p_now": now, "p_limit": limit, "p_owner": owner, "p_until": until}
        )
        return sorted(
            (from_row(Job, row._mapping) for row in rows), key=lambda j: (j.created_at, j.id)
        )

    async def update(self, job: Job, *, owner: str | None) -> bool:
        result = await self._tx.execute(_UPDATE, {**bind_values(job), "p_expected_owner": owner})
        return bool(result.rowcount == 1)
