"""Notification records: one message per (key, channel), retried until sent.

Every statement is built once, at import, with ``p_``-prefixed bind parameters
(never a column's name: SQLAlchemy would take those as SET/VALUES entries) and
executed with a dict: building a construct and its cache key on every call
costs more Python CPU than executing it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from eltiketi_adapters.sqlalchemy._tx import Tx
from eltiketi_adapters.sqlalchemy.models import NotificationRow
from eltiketi_core.ports.stores import NotificationRecord, NotificationStatus

_notifications = NotificationRow.__table__
_RETRYABLE = (NotificationStatus.QUEUED.value, NotificationStatus.FAILED.value)

# INSERT … ON CONFLICT DO NOTHING RETURNING id, one per dialect; executed with the row's
# values (keys = column names).
_ADD_PG = (
    pg_insert(NotificationRow)
    .on_conflict_do_nothing(index_elements=[NotificationRow.key, NotificationRow.channel])
    .returning(NotificationRow.id)
)
_ADD_SQLITE = (
    sqlite_insert(NotificationRow)
    .on_conflict_do_nothing(index_elements=[NotificationRow.key, NotificationRow.channel])
    .returning(NotificationRow.id)
)
_BY_KEY_AND_CHANNEL = select(_notifications).where(
    NotificationRow.key == bindparam("p_key"), NotificationRow.channel == bindparam("p_channel")
)
# SET <every column but id> = :p_<column>
_UPDATE = (
    update(NotificationRow)
    .where(NotificationRow.id == bindparam("p_id"))
    .values(
        {
            column.key: bindparam(f"p_{column.key}")
            for column in _notifications.c
            if column.key != "id"
        }
    )
)
_DUE = (
    select(_notifications)
    .where(
        NotificationRow.status.in_(_RETRYABLE),
        NotificationRow.next_attempt_at <= bindparam("p_now"),  # no time set: not scheduled
    )
    .order_by(NotificationRow.next_attempt_at, NotificationRow.id)
    .limit(bindparam("p_limit", type_=Integer))
)
_DUE_SKIP_LOCKED = _DUE.with_for_update(skip_locked=True)  # PostgreSQL only
_BY_KEY_PREFIX = (
    select(_notifications)
    .where(NotificationRow.key.like(bindparam("p_pattern"), escape="\\"))
    .order_by(NotificationRow.created_at, NotificationRow.key, NotificationRow.channel)
)


class SqlNotificationStore:
    """:class:`~eltiketi_core.ports.NotificationStore`; unique (key, channel)."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add(self, record: NotificationRecord) -> bool:
        statement = _ADD_PG if self._tx.is_postgres else _ADD_SQLITE
        result = await self._tx.execute(statement, _values(record))
        return result.first() is not None

    async def get(self, key: str, channel: str) -> NotificationRecord | None:
        result = await self._tx.execute(_BY_KEY_AND_CHANNEL, {"p_key": key, "p_channel": channel})
        row = result.first()
        return _record(row._mapping) if row else None

    async def update(self, record: NotificationRecord) -> None:
        values = {f"p_{name}": value for name, value in _values(record).items()}
        await self._tx.execute(_UPDATE, values)

    async def due(self, now: datetime, *, limit: int) -> list[NotificationRecord]:
        query = _DUE_SKIP_LOCKED if self._tx.is_postgres else _DUE
        result = await self._tx.execute(query, {"p_now": now, "p_limit": limit})
        return [_record(row._mapping) for row in result.all()]

    async def for_key_prefix(self, prefix: str) -> list[NotificationRecord]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        result = await self._tx.execute(_BY_KEY_PREFIX, {"p_pattern": f"{escaped}%"})
        rows = result.all()
        return [_record(row._mapping) for row in rows]


def _values(record: NotificationRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "key": record.key,
        "channel": record.channel,
        "kind": record.kind,
        "recipient": record.recipient,
        "status": record.status.value,
        "attempts": record.attempts,
        "created_at": record.created_at,
        "next_attempt_at": record.next_attempt_at,
        "sent_at": record.sent_at,
        "error": record.error,
    }


def _record(row: Any) -> NotificationRecord:
    return NotificationRecord(
        id=row["id"],
        key=row["key"],
        channel=row["channel"],
        kind=row["kind"],
        recipient=row["recipient"],
        status=NotificationStatus(row["status"]),
        attempts=row["attempts"],
        created_at=row["created_at"],
        next_attempt_at=row["next_attempt_at"],
        sent_at=row["sent_at"],
        error=row["error"],
    )
