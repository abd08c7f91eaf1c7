"""Idempotency keys, the transactional outbox and the consumers' inbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec
from sqlalchemy import delete, insert, select, update

from eltiketi_adapters.sqlalchemy._tx import Tx, insert_unless_exists
from eltiketi_adapters.sqlalchemy.models import IdempotencyKeyRow, InboxRow, OutboxRow
from eltiketi_core.domain.events import AnyEvent, DomainEvent
from eltiketi_core.ports.stores import IdempotencyRecord, OutboxEntry


class SqlIdempotencyStore:
    """:class:`~eltiketi_core.ports.IdempotencyStore`; primary key (user, key)."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def get(self, user: str, key: str) -> IdempotencyRecord | None:
        row = await self._tx.first(
            select(IdempotencyKeyRow.__table__).where(
                IdempotencyKeyRow.user == user, IdempotencyKeyRow.key == key
            )
        )
        if row is None:
            return None
        found = row._mapping
        return IdempotencyRecord(
            user=found["user"],
            key=found["key"],
            request_hash=found["request_hash"],
            response=bytes(found["response"]),
            created_at=found["created_at"],
        )

    async def add(self, record: IdempotencyRecord) -> bool:
        # Of two concurrent requests with one key, the second waits for the first
        # to commit, then finds the key taken: no error aborts its transaction.
        return await insert_unless_exists(
            self._tx,
            IdempotencyKeyRow,
            {
                "user": record.user,
                "key": record.key,
                "request_hash": record.request_hash,
                "response": record.response,
                "created_at": record.created_at,
            },
            conflict_on=[IdempotencyKeyRow.user, IdempotencyKeyRow.key],
        )

    async def prune(self, created_before: datetime) -> int:
        result = await self._tx.execute(
            delete(IdempotencyKeyRow).where(IdempotencyKeyRow.created_at < created_before)
        )
        return int(result.rowcount)


class SqlOutboxStore:
    """:class:`~eltiketi_core.ports.OutboxStore`. The payload is the event as JSON
    (``jsonb`` on PostgreSQL), tagged with its type, so it reads back as the same struct."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add(self, events: Sequence[DomainEvent]) -> None:
        if not events:
            return
        await self._tx.execute(
            insert(OutboxRow),
            [
                {
                    "event_id": event.id,
                    "type": event.type,
                    "key": event.key,
                    "payload": msgspec.to_builtins(event),
                    "created_at": event.occurred_at,
                    "published_at": None,
                }
                for event in events
            ],
        )

    async def pending(self, *, limit: int) -> list[OutboxEntry]:
        rows = await self._tx.rows(
            select(OutboxRow.seq, OutboxRow.payload)
            .where(OutboxRow.published_at.is_(None))
            .order_by(OutboxRow.seq)
            .limit(limit)
        )
        return [OutboxEntry(seq=seq, event=_event(payload)) for seq, payload in rows]

    async def mark_published(self, seqs: Sequence[int], at: datetime) -> None:
        if not seqs:
            return
        await self._tx.execute(
            update(OutboxRow)
            .where(OutboxRow.seq.in_(list(seqs)), OutboxRow.published_at.is_(None))
            .values(published_at=at)
        )

    async def prune(self, published_before: datetime) -> int:
        result = await self._tx.execute(
            delete(OutboxRow).where(
                OutboxRow.published_at.is_not(None), OutboxRow.published_at < published_before
            )
        )
        return int(result.rowcount)


class SqlInboxStore:
    """:class:`~eltiketi_core.ports.InboxStore`; primary key (consumer, event id)."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def claim(self, consumer: str, event_id: str, at: datetime) -> bool:
        return await insert_unless_exists(
            self._tx,
            InboxRow,
            {"consumer": consumer, "event_id": event_id, "processed_at": at},
            conflict_on=[InboxRow.consumer, InboxRow.event_id],
        )

    async def prune(self, processed_before: datetime) -> int:
        result = await self._tx.execute(
            delete(InboxRow).where(InboxRow.processed_at < processed_before)
        )
        return int(result.rowcount)


def _event(payload: object) -> DomainEvent:
    event: DomainEvent = msgspec.convert(payload, AnyEvent)  # type: ignore[arg-type]
    return event
