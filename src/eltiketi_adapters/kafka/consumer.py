"""One consumer group per core handler, many messages in flight, commits that never lose one.

FastStream 0.7's ``ack()`` commits the consumer's whole position, not one
message. So the design never acks while a message it has read is unsettled:

* the consumer reads a *batch* (``getmany``: up to ``KafkaConfig.batch_max_records``
  records across its partitions) and commits once, when every record of the
  batch is settled (handled, skipped as not its type, or dead-lettered);
* inside a batch the records are grouped by Kafka key (the booking id): one
  key's records are handled one after another, in partition order, and
  different keys are handled concurrently, at most ``KafkaConfig.concurrency``
  at a time — one purchase's events keep their order, a slow purchase no
  longer holds up the others;
* a failing message is retried *in place* with backoff
  (:class:`~eltiketi_adapters.kafka.config.RetryPolicy`); its key waits, and so
  does the batch's commit; errors that say a dependency is unreachable
  (``GatewayUnavailable``) are retried until it is back, without spending the budget;
* when the retry budget is spent, the message is published to the dead-letter
  topic (awaited, ``acks=all``) and only then counts as settled;
* if anything is left unsettled — the worker stopping mid-batch, the
  dead-letter topic unreachable, an unexpected crash of this code — the batch
  is ``nack()`` ed: the consumer seeks every partition back to the batch's
  first record there, so no later commit can pass it, and the whole batch is
  read again (by this consumer or, after a rebalance, another).

The core handler is idempotent (its inbox row is committed with its effect), so
reading a message again never repeats an effect. This consumer also remembers
which records it settled in a batch that was then read again, and does not
handle or dead-letter those twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from eltiketi_adapters.kafka.config import KafkaConfig
from eltiketi_adapters.kafka.envelope import (
    DeadLetter,
    EventEnvelope,
    decode_envelope,
)
from eltiketi_core.domain.events import DomainEvent
from eltiketi_core.errors import GatewayUnavailable, ValidationFailed
from eltiketi_core.ports.messaging import EventHandler

log = logging.getLogger(__name__)

DeadLetterSink = Callable[[DeadLetter], Awaitable[None]]

#: Where a record sits: (topic, partition, offset). Immutable in Kafka.
RecordPosition = tuple[str, int, int]

#: How many "settled but not yet committed" positions a consumer remembers at most.
_SETTLED_MEMORY_LIMIT = 50_000


class ConsumedMessage:
    """The parts of one Kafka ``ConsumerRecord`` this module uses (easy to read in logs)."""

    def __init__(self, record: Any) -> None:
        self.topic: str = record.topic
        self.partition: int = record.partition
        self.offset: int = record.offset
        raw_key = record.key
        self.key: str | None = (
            raw_key.decode(errors="replace") if isinstance(raw_key, bytes) else raw_key
        )
        self.value: bytes = record.value or b""

    @property
    def position(self) -> RecordPosition:
        return (self.topic, self.partition, self.offset)

    def log_extra(self) -> dict[str, Any]:
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset}


def ordered_groups(records: Sequence[ConsumedMessage]) -> list[list[ConsumedMessage]]:
    """Split a batch into the runs that must be handled one after another.

    Records with the same key form one group, in batch order (which is partition
    order: Kafka puts one key on one partition of a topic, and a batch lists
    each partition's records in offset order). Records without a key keep the
    order of their partition, so they are grouped by topic and partition.
    Groups are listed in the order of their first record.
    """
    groups: dict[tuple[str, ...], list[ConsumedMessage]] = {}
    for record in records:
        group_key = (
            ("key", record.key)
            if record.key is not None
            else ("partition", record.topic, str(record.partition))
        )
        groups.setdefault(group_key, []).append(record)
    return list(groups.values())


class HandlerConsumer:
    """Feeds the message batches of one consumer group to one core :class:`EventHandler`.

    Args:
        handler: the core handler (``name`` gives the group, ``handles`` the types).
        config: retry budget, group naming, and how many keys are handled at once.
        dead_letters: publishes a dead letter and returns once Kafka has it.
        stopping: set when the worker shuts down; retries stop waiting then, and
            messages not yet started are left for redelivery.
    """

    def __init__(
        self,
        handler: EventHandler,
        config: KafkaConfig,
        dead_letters: DeadLetterSink,
        stopping: asyncio.Event,
    ) -> None:
        self.handler = handler
        self.group = config.group_id(handler.name)
        self.concurrency = max(1, config.concurrency)
        self._retry = config.retry
        self._handled = frozenset(event_type.__name__ for event_type in handler.handles)
        self._dead_letters = dead_letters
        self._stopping = stopping
        self._settled_uncommitted: set[RecordPosition] = set()
        #: Messages acknowledged (handled, skipped as not ours, or dead-lettered).
        self.settled = 0
        #: Messages published to the dead-letter topic.
        self.dead_lettered = 0
        #: Batches committed / batches sought back to be read again.
        self.batches_committed = 0
        self.batches_redelivered = 0

    async def consume_batch(self, message: Any) -> None:
        """Handle one batch (a FastStream batch ``KafkaMessage``) and settle it.

        ``ack`` (one commit) when every record is settled, ``nack`` otherwise.
        """
        raw = message.raw_message
        records = [
            ConsumedMessage(record) for record in (raw if isinstance(raw, tuple) else (raw,))
        ]
        try:
            done = await self._process_batch(records)
        except BaseException:
            self.batches_redelivered += 1
            await _rewind(message, records)
            raise
        if done:
            self.settled += len(records)
            self.batches_committed += 1
            await self._commit(message, records)
        else:
            self.batches_redelivered += 1
            log.info(
                "batch left for redelivery",
                extra={"handler": self.handler.name, "group": self.group, "records": len(records)},
            )
            await _rewind(message, records)

    async def _process_batch(self, records: Sequence[ConsumedMessage]) -> bool:
        """True once every record is settled; groups of one key run one after another."""
        groups = ordered_groups(records)
        pending: Iterator[list[ConsumedMessage]] = iter(groups)
        results: list[bool] = []

        async def worker() -> None:
            for group in pending:  # shared iterator: each group goes to one worker
                results.append(await self._process_group(group))

        workers = min(self.concurrency, len(groups))
        if workers <= 1:
            await worker()
        else:
            async with asyncio.TaskGroup() as task_group:
                for _ in range(workers):
                    task_group.create_task(worker())
        return all(results)

    async def _process_group(self, group: Sequence[ConsumedMessage]) -> bool:
        """Settle one key's records in order; stop at the first that stays unsettled."""
        for consumed in group:
            if consumed.position in self._settled_uncommitted:
                continue
            if not await self._process(consumed):
                return False
            self._remember_settled(consumed.position)
        return True

    async def _process(self, consumed: ConsumedMessage) -> bool:
        """True once the message is dealt with (handled, skipped or dead-lettered)."""
        try:
            envelope = decode_envelope(consumed.value)
        except ValidationFailed as error:
            return await self._dead_letter(consumed, None, error, attempts=1)
        if envelope.type not in self._handled:
            return True
        try:
            event = envelope.event()
        except ValidationFailed as error:
            return await self._dead_letter(consumed, envelope, error, attempts=1)
        return await self._handle(consumed, envelope, event)

    async def _handle(
        self, consumed: ConsumedMessage, envelope: EventEnvelope, event: DomainEvent
    ) -> bool:
        attempts = 0
        outages = 0
        while not self._stopping.is_set():
            try:
                await self.handler(event)
            except GatewayUnavailable as error:
                outages += 1
                delay = self._retry.delay(outages)
                log.warning(
                    "handler waits for an unavailable dependency",
                    extra=self._extra(consumed, envelope, error) | {"retry_in": delay},
                )
            except Exception as error:
                attempts += 1
                if attempts >= self._retry.attempts:
                    return await self._dead_letter(consumed, envelope, error, attempts=attempts)
                delay = self._retry.delay(attempts)
                log.warning(
                    "handler failed; retrying",
                    extra=self._extra(consumed, envelope, error)
                    | {"attempt": attempts, "retry_in": delay},
                )
            else:
                return True
            await self._pause(delay)
        log.info(
            "stopping: message left for redelivery", extra=self._extra(consumed, envelope, None)
        )
        return False

    async def _dead_letter(
        self,
        consumed: ConsumedMessage,
        envelope: EventEnvelope | None,
        error: BaseException,
        *,
        attempts: int,
    ) -> bool:
        letter = DeadLetter(
            handler=self.handler.name,
            group=self.group,
            topic=consumed.topic,
            partition=consumed.partition,
            offset=consumed.offset,
            key=consumed.key,
            value=consumed.value,
            error=f"{type(error).__name__}: {error}",
            attempts=attempts,
            failed_at=datetime.now(UTC),
            event_id=envelope.event_id if envelope else None,
            event_type=envelope.type if envelope else None,
        )
        try:
            await self._dead_letters(letter)
        except Exception as publish_error:
            log.error(
                "could not dead-letter a message; it will be read again",
                extra=self._extra(consumed, envelope, publish_error),
            )
            return False
        self.dead_lettered += 1
        log.error(
            "message dead-lettered",
            extra=self._extra(consumed, envelope, error) | {"attempts": attempts},
        )
        return True

    def _remember_settled(self, position: RecordPosition) -> None:
        if len(self._settled_uncommitted) >= _SETTLED_MEMORY_LIMIT:
            # Only an optimisation (the inbox absorbs repeats): never let it grow unbounded.
            self._settled_uncommitted.clear()
        self._settled_uncommitted.add(position)

    async def _commit(self, message: Any, records: Sequence[ConsumedMessage]) -> None:
        for consumed in records:
            self._settled_uncommitted.discard(consumed.position)
        try:
            await message.ack()
        except KafkaError as error:
            # A rebalance took a partition away (or the broker is unreachable): the
            # new owner reads from the last commit, and the inbox absorbs the repeat.
            first = records[0] if records else None
            log.warning(
                "offset commit failed; the batch may be delivered again",
                extra=(first.log_extra() if first else {})
                | {"group": self.group, "records": len(records), "error": repr(error)},
            )

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    def _extra(
        self,
        consumed: ConsumedMessage,
        envelope: EventEnvelope | None,
        error: BaseException | None,
    ) -> dict[str, Any]:
        extra = consumed.log_extra() | {"handler": self.handler.name, "group": self.group}
        if envelope is not None:
            extra |= {"event_id": str(envelope.event_id), "event_type": envelope.type}
        if error is not None:
            extra["error"] = f"{type(error).__name__}: {error}"
        return extra


def first_offsets(records: Sequence[ConsumedMessage]) -> dict[tuple[str, int], int]:
    """The earliest offset of the batch on each of its (topic, partition)s."""
    earliest: dict[tuple[str, int], int] = {}
    for record in records:
        where = (record.topic, record.partition)
        if where not in earliest or record.offset < earliest[where]:
            earliest[where] = record.offset
    return earliest


async def _rewind(message: Any, records: Sequence[ConsumedMessage]) -> None:
    """Seek every partition of the batch back to its first record there (never raises).

    Done here rather than trusting ``nack()`` alone to cover a multi-partition
    batch; ``nack()`` then only marks the message settled for FastStream.
    """
    for (topic, partition), offset in first_offsets(records).items():
        try:
            message.consumer.seek(TopicPartition(topic, partition), offset)
        except Exception:  # revoked by a rebalance, or the consumer closed: nothing
            # was committed past the record then, the next owner reads it again.
            log.debug("seek back failed", extra={"topic": topic, "partition": partition})
    try:
        await message.nack()
    except Exception:
        log.debug("nack failed", exc_info=True)
