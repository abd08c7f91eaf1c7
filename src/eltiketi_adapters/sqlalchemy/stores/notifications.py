"""Notification records: one message per (key, channel), retried until sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from eltiketi_adapters.sqlalchemy._tx import Tx, insert_unless_exists
from eltiketi_adapters.sqlalchemy.models import NotificationRow
from eltiketi_core.ports.stores import NotificationRecord, NotificationStatus

_notifications = NotificationRow.__table__
_RETRYABLE = (NotificationStatus.QUEUED.value, NotificationStatus.FAILED.value)


class SqlNotificationStore:
    """:class:`~eltiketi_core.ports.NotificationStore`; unique (key, channel)."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add(self, record: NotificationRecord) -> bool:
        return await insert_unless_exists(
            self._tx,
            NotificationRow,
            _values(record),
            conflict_on=[NotificationRow.key, NotificationRow.channel],
        )

    async def get(self, key: str, channel: str) -> NotificationRecord | None:
        row = await self._tx.first(
            select(_notifications).where(
                NotificationRow.key == key, NotificationRow.channel == channel
            )
        )
        return _record(row._mapping) if row else None

    async def update(self, record: NotificationRecord) -> None:
        values = _values(record)
        del values["id"]
        await self._tx.execute(
            update(NotificationRow).where(NotificationRow.id == record.id).values(**values)
        )

    async def due(self, now: datetime, *, limit: int) -> list[NotificationRecord]:
        query = (
            select(_notifications)
            .where(
                NotificationRow.status.in_(_RETRYABLE),
                NotificationRow.next_attempt_at <= now,  # no time set: not scheduled
            )
            .order_by(NotificationRow.next_attempt_at, NotificationRow.id)
            .limit(limit)
        )
        if self._tx.is_postgres:
            query = query.with_for_update(skip_locked=True)
        return [_record(row._mapping) for row in await self._tx.rows(query)]

    async def for_key_prefix(self, prefix: str) -> list[NotificationRecord]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = await self._tx.rows(
            select(_notifications)
            .where(NotificationRow.key.like(f"{escaped}%", escape="\\"))
            .order_by(NotificationRow.created_at, NotificationRow.key, NotificationRow.channel)
        )
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
