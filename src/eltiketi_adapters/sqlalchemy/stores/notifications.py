"""Notification records: one message per (key, channel), held by a lease while it is sent.

Every statement is built once, at import, with ``p_``-prefixed bind parameters
(never a column's name: SQLAlchemy would take those as SET/VALUES entries) and
executed with a dict: building a construct and its cache key on every call
costs more Python CPU than executing it.

Each change a sender's rival could race is one conditional statement: claiming
what is due (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, then an ``UPDATE`` that
re-checks the record is still due), renewing, finishing and the resend slot
(``UPDATE … WHERE <still claimable> RETURNING``: under PostgreSQL's READ
COMMITTED a second writer waits for the first and re-checks the condition on
the row the first one wrote), and the per-booking quota (an upsert whose
``DO UPDATE`` only fires below the limit).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BindParameter, Integer, and_, bindparam, func, or_, select, update

from eltiketi_adapters.sqlalchemy._tx import Tx
from eltiketi_adapters.sqlalchemy.dialects import PerDialect, insert_ignoring_conflict
from eltiketi_adapters.sqlalchemy.models import NotificationQuotaRow, NotificationRow
from eltiketi_adapters.sqlalchemy.positional import positional
from eltiketi_adapters.sqlalchemy.rows import bind_values, from_row, row_values
from eltiketi_core.ports.stores import NotificationRecord, NotificationStatus

_notifications = NotificationRow.__table__
_quotas = NotificationQuotaRow.__table__
_RETRYABLE = (NotificationStatus.QUEUED.value, NotificationStatus.FAILED.value)

_ADD = insert_ignoring_conflict(NotificationRow, [NotificationRow.key, NotificationRow.channel])
_BY_KEY_AND_CHANNEL = select(_notifications).where(
    NotificationRow.key == bindparam("p_key"), NotificationRow.channel == bindparam("p_channel")
)
#: SET <every column but id> = :p_<column>
_EVERY_COLUMN: dict[str, BindParameter[Any]] = {
    column.key: bindparam(f"p_{column.key}") for column in _notifications.c if column.key != "id"
}
_UPDATE = (
    update(NotificationRow).where(NotificationRow.id == bindparam("p_id")).values(_EVERY_COLUMN)
)
_FINISH = (
    update(NotificationRow)
    .where(
        NotificationRow.id == bindparam("p_id"),
        NotificationRow.lease == bindparam("p_held_by"),
    )
    .values(_EVERY_COLUMN)
    .returning(NotificationRow.id)
)
_IS_DUE = and_(
    NotificationRow.status.in_(_RETRYABLE),
    NotificationRow.next_attempt_at <= bindparam("p_now"),  # no time set: not scheduled
)
_DUE = (
    select(NotificationRow.id)
    .where(_IS_DUE)
    .order_by(NotificationRow.next_attempt_at, NotificationRow.id)
    .limit(bindparam("p_limit", type_=Integer))
)
_DUE_SKIP_LOCKED = _DUE.with_for_update(skip_locked=True)  # PostgreSQL only
_CLAIM = (
    update(NotificationRow)
    .where(NotificationRow.id.in_(bindparam("p_ids", expanding=True)), _IS_DUE)
    .values(lease=bindparam("p_lease"), next_attempt_at=bindparam("p_until"))
    .returning(*_notifications.c)
)
_RENEW = (
    update(NotificationRow)
    .where(
        NotificationRow.lease == bindparam("p_lease"),
        NotificationRow.status.in_(_RETRYABLE),
    )
    .values(next_attempt_at=bindparam("p_until"))
    .returning(NotificationRow.id)
)
_QUIET_SINCE: BindParameter[Any] = bindparam("p_quiet_since")
_CLAIM_RESEND = (
    update(NotificationRow)
    .where(
        NotificationRow.key == bindparam("p_key"),
        NotificationRow.channel == bindparam("p_channel"),
        func.coalesce(NotificationRow.requested_at, NotificationRow.created_at) <= _QUIET_SINCE,
        or_(NotificationRow.sent_at.is_(None), NotificationRow.sent_at <= _QUIET_SINCE),
        # Not while a live sender holds it (a dead sender's lease has run out).
        or_(
            NotificationRow.lease.is_(None),
            NotificationRow.next_attempt_at <= bindparam("p_now"),
        ),
    )
    .values(
        generation=NotificationRow.generation + 1,
        requested_at=bindparam("p_now"),
        status=NotificationStatus.QUEUED.value,
        attempts=0,
        lease=bindparam("p_lease"),
        next_attempt_at=bindparam("p_until"),
        error=None,
    )
    .returning(*_notifications.c)
)
#: PostgreSQL (the e-ticket after each confirmation), for ``Tx.fetch_direct``.
_ADD_PG = _ADD.direct([column.key for column in _notifications.c])
_FINISH_PG = positional(_FINISH)
_BY_KEY_PREFIX = (
    select(_notifications)
    .where(NotificationRow.key.like(bindparam("p_pattern"), escape="\\"))
    .order_by(NotificationRow.created_at, NotificationRow.key, NotificationRow.channel)
)


def _take_quota(insert: Any) -> Any:
    """``INSERT (scope, channel, 1) ON CONFLICT DO UPDATE SET used = used + 1 WHERE used <
    :limit RETURNING used``: a row comes back only if the message was counted."""
    statement = insert(NotificationQuotaRow).values(
        scope=bindparam("p_scope"), channel=bindparam("p_channel"), used=1
    )
    return statement.on_conflict_do_update(
        index_elements=[NotificationQuotaRow.scope, NotificationQuotaRow.channel],
        set_={"used": _quotas.c.used + 1},
        where=_quotas.c.used < bindparam("p_limit", type_=Integer),
    ).returning(NotificationQuotaRow.used)


_TAKE_QUOTA = PerDialect(_take_quota)


class SqlNotificationStore:
    """:class:`~eltiketi_core.ports.NotificationStore`; unique (key, channel)."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add(self, record: NotificationRecord) -> bool:
        if self._tx.is_postgres:
            return bool(await self._tx.fetch_direct(_ADD_PG, row_values(record)))
        result = await self._tx.execute(_ADD.on(self._tx), row_values(record))
        return result.first() is not None

    async def get(self, key: str, channel: str) -> NotificationRecord | None:
        result = await self._tx.execute(_BY_KEY_AND_CHANNEL, {"p_key": key, "p_channel": channel})
        row = result.first()
        return from_row(NotificationRecord, row._mapping) if row else None

    async def update(self, record: NotificationRecord) -> None:
        await self._tx.execute(_UPDATE, bind_values(record))

    async def claim_due(
        self, now: datetime, *, lease: UUID, until: datetime, limit: int
    ) -> list[NotificationRecord]:
        if limit <= 0:
            return []
        query = _DUE_SKIP_LOCKED if self._tx.is_postgres else _DUE
        due = [row[0] for row in (await self._tx.execute(query, {"p_now": now, "p_limit": limit}))]
        if not due:
            return []
        result = await self._tx.execute(
            _CLAIM, {"p_ids": due, "p_now": now, "p_lease": lease, "p_until": until}
        )
        claimed = {row.id: from_row(NotificationRecord, row._mapping) for row in result.all()}
        return [claimed[record_id] for record_id in due if record_id in claimed]

    async def renew(self, lease: UUID, until: datetime) -> int:
        result = await self._tx.execute(_RENEW, {"p_lease": lease, "p_until": until})
        return len(result.all())

    async def finish(self, record: NotificationRecord, *, lease: UUID) -> bool:
        params = {**bind_values(record), "p_held_by": lease}
        if self._tx.is_postgres:
            return bool(await self._tx.fetch_direct(_FINISH_PG, params))
        result = await self._tx.execute(_FINISH, params)
        return result.first() is not None

    async def claim_resend(
        self,
        key: str,
        channel: str,
        *,
        now: datetime,
        quiet_since: datetime,
        lease: UUID,
        until: datetime,
    ) -> NotificationRecord | None:
        result = await self._tx.execute(
            _CLAIM_RESEND,
            {
                "p_key": key,
                "p_channel": channel,
                "p_now": now,
                "p_quiet_since": quiet_since,
                "p_lease": lease,
                "p_until": until,
            },
        )
        row = result.first()
        return from_row(NotificationRecord, row._mapping) if row else None

    async def take_quota(self, scope: str, channel: str, limit: int) -> bool:
        if limit <= 0:
            return False
        result = await self._tx.execute(
            _TAKE_QUOTA.on(self._tx), {"p_scope": scope, "p_channel": channel, "p_limit": limit}
        )
        return result.first() is not None

    async def for_key_prefix(self, prefix: str) -> list[NotificationRecord]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        result = await self._tx.execute(_BY_KEY_PREFIX, {"p_pattern": f"{escaped}%"})
        rows = result.all()
        return [from_row(NotificationRecord, row._mapping) for row in rows]
