"""Idempotency keys, the transactional outbox and the consumers' inbox.

Every statement is built once, at import, with ``p_``-prefixed bind parameters
(never a column's name: SQLAlchemy would take those as SET/VALUES entries) and
executed with a dict: building a construct and its cache key on every call
costs more Python CPU than executing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import BigInteger, Integer, any_, bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from eltiketi_adapters.sqlalchemy._tx import Tx
from eltiketi_adapters.sqlalchemy.dialects import PerDialect, insert_ignoring_conflict
from eltiketi_adapters.sqlalchemy.engine import json_text
from eltiketi_adapters.sqlalchemy.models import IdempotencyKeyRow, InboxRow, OutboxRow
from eltiketi_adapters.sqlalchemy.positional import positional
from eltiketi_core.domain.events import AnyEvent, DomainEvent
from eltiketi_core.ports.stores import IdempotencyRecord, OutboxEntry

_IDEMPOTENCY_KEY = select(IdempotencyKeyRow.__table__).where(
    IdempotencyKeyRow.user == bindparam("p_user"), IdempotencyKeyRow.key == bindparam("p_key")
)
_ADD_IDEMPOTENCY = insert_ignoring_conflict(
    IdempotencyKeyRow, [IdempotencyKeyRow.user, IdempotencyKeyRow.key]
)
#: Several at once (a group commit): one multi-row statement, the rows written returned.
_ADD_IDEMPOTENCY_MANY = PerDialect(
    lambda insert: (
        insert(IdempotencyKeyRow)
        .on_conflict_do_nothing(index_elements=[IdempotencyKeyRow.user, IdempotencyKeyRow.key])
        .returning(IdempotencyKeyRow.user, IdempotencyKeyRow.key)
    )
)
_PRUNE_IDEMPOTENCY_KEYS = delete(IdempotencyKeyRow).where(
    IdempotencyKeyRow.created_at < bindparam("p_created_before")
)

_ADD_OUTBOX_ROWS = insert(OutboxRow)
_OUTBOX_COLUMNS = ["event_id", "type", "key", "payload", "created_at", "published_at"]
#: PostgreSQL (the hold path and the relay), for ``Tx.fetch_direct`` / ``execute_many_direct``.
_ADD_OUTBOX_ROWS_PG = positional(_ADD_OUTBOX_ROWS.inline(), column_keys=_OUTBOX_COLUMNS)
_PENDING_OUTBOX = (
    select(OutboxRow.seq, OutboxRow.payload)
    .where(OutboxRow.published_at.is_(None))
    .order_by(OutboxRow.seq)
    .limit(bindparam("p_limit", type_=Integer))
)
_PENDING_OUTBOX_PG = positional(_PENDING_OUTBOX)


def _mark_outbox_published(seq_matches: Any) -> Any:
    return (
        update(OutboxRow)
        .where(seq_matches, OutboxRow.published_at.is_(None))
        .values(published_at=bindparam("p_at"))
    )


_MARK_OUTBOX_PUBLISHED = _mark_outbox_published(
    OutboxRow.seq.in_(bindparam("p_seqs", expanding=True))
)
_MARK_OUTBOX_PUBLISHED_PG = positional(
    _mark_outbox_published(OutboxRow.seq == any_(bindparam("p_seqs", type_=ARRAY(BigInteger))))
)
_PRUNE_OUTBOX = delete(OutboxRow).where(
    OutboxRow.published_at.is_not(None), OutboxRow.published_at < bindparam("p_published_before")
)

_CLAIM_INBOX = insert_ignoring_conflict(InboxRow, [InboxRow.consumer, InboxRow.event_id])
#: PostgreSQL (every in-process handler's first statement), for ``Tx.fetch_direct``.
_CLAIM_INBOX_PG = _CLAIM_INBOX.direct(["consumer", "event_id", "processed_at"])
_PRUNE_INBOX = delete(InboxRow).where(InboxRow.processed_at < bindparam("p_processed_before"))


class SqlIdempotencyStore:
    """:class:`~eltiketi_core.ports.IdempotencyStore`; primary key (user, key)."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def get(self, user: str, key: str) -> IdempotencyRecord | None:
        row = (await self._tx.execute(_IDEMPOTENCY_KEY, {"p_user": user, "p_key": key})).first()
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
        result = await self._tx.execute(_ADD_IDEMPOTENCY.on(self._tx), _idempotency_row(record))
        return result.first() is not None

    async def add_many(self, records: Sequence[IdempotencyRecord]) -> set[tuple[str, str]]:
        if not records:
            return set()
        if len(records) == 1:
            return {(records[0].user, records[0].key)} if await self.add(records[0]) else set()
        result = await self._tx.execute(
            _ADD_IDEMPOTENCY_MANY.on(self._tx), [_idempotency_row(r) for r in records]
        )
        return {(str(row.user), str(row.key)) for row in result.all()}

    async def prune(self, created_before: datetime) -> int:
        result = await self._tx.execute(
            _PRUNE_IDEMPOTENCY_KEYS, {"p_created_before": created_before}
        )
        return int(result.rowcount)


def _idempotency_row(record: IdempotencyRecord) -> dict[str, object]:
    return {
        "user": record.user,
        "key": record.key,
        "request_hash": record.request_hash,
        "response": record.response,
        "created_at": record.created_at,
    }


class SqlOutboxStore:
    """:class:`~eltiketi_core.ports.OutboxStore`. The payload is the event as JSON
    (``jsonb`` on PostgreSQL), tagged with its type, so it reads back as the same struct."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add(self, events: Sequence[DomainEvent]) -> None:
        if not events:
            return
        if self._tx.is_postgres:
            # The payload as JSON text, as the engine's serializer writes it (the
            # connection's jsonb codec takes text).
            await self._tx.execute_many_direct(
                _ADD_OUTBOX_ROWS_PG,
                [
                    {
                        "event_id": event.id,
                        "type": event.type,
                        "key": event.key,
                        "payload": json_text(msgspec.to_builtins(event)),
                        "created_at": event.occurred_at,
                        "published_at": None,
                    }
                    for event in events
                ],
            )
            return
        await self._tx.execute(
            _ADD_OUTBOX_ROWS,
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
        if self._tx.is_postgres:
            found = await self._tx.fetch_direct(_PENDING_OUTBOX_PG, {"p_limit": limit})
            return [OutboxEntry(seq=row[0], event=_event(row[1])) for row in found]
        rows = (await self._tx.execute(_PENDING_OUTBOX, {"p_limit": limit})).all()
        return [OutboxEntry(seq=row.seq, event=_event(row.payload)) for row in rows]

    async def mark_published(self, seqs: Sequence[int], at: datetime) -> None:
        if not seqs:
            return
        params = {"p_seqs": list(seqs), "p_at": at}
        if self._tx.is_postgres:
            await self._tx.fetch_direct(_MARK_OUTBOX_PUBLISHED_PG, params)
            return
        await self._tx.execute(_MARK_OUTBOX_PUBLISHED, params)

    async def prune(self, published_before: datetime) -> int:
        result = await self._tx.execute(_PRUNE_OUTBOX, {"p_published_before": published_before})
        return int(result.rowcount)


class SqlInboxStore:
    """:class:`~eltiketi_core.ports.InboxStore`; primary key (consumer, event id)."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def claim(self, consumer: str, event_id: str, at: datetime) -> bool:
        values = {"consumer": consumer, "event_id": event_id, "processed_at": at}
        if self._tx.is_postgres:
            return bool(await self._tx.fetch_direct(_CLAIM_INBOX_PG, values))
        result = await self._tx.execute(_CLAIM_INBOX.sqlite, values)
        return result.first() is not None

    async def prune(self, processed_before: datetime) -> int:
        result = await self._tx.execute(_PRUNE_INBOX, {"p_processed_before": processed_before})
        return int(result.rowcount)


def _event(payload: object) -> DomainEvent:
    event: DomainEvent = msgspec.convert(payload, AnyEvent)  # type: ignore[arg-type]
    return event
