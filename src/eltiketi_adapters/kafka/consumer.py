"""One consumer group per core handler, with commits that never lose a message.

FastStream 0.7's ``ack()`` commits the consumer's whole position, not one
message. So the design never leaves a message behind and then acks a later one:

* messages are handled one at a time, in partition order (no concurrency
  inside a consumer; scale out with more consumers and partitions);
* a failing message is retried *in place* with backoff
  (:class:`~eltiketi_adapters.kafka.config.RetryPolicy`); its partition waits;
* when the retry budget is spent, the message is published to the dead-letter
  topic (awaited, ``acks=all``) and only then acknowledged;
* anything else — the worker stopping mid-retry, the dead-letter topic
  unreachable, an unexpected crash of this code — ``nack()`` s the message:
  the consumer seeks back to it, so no later ack can commit past it, and it is
  read again (by this consumer or, after a rebalance, another).

The core handler is idempotent (its inbox row is committed with its effect), so
reading a message again never repeats an effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

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


class ConsumedMessage:
    """The parts of a FastStream ``KafkaMessage`` this module uses (easy to read in logs)."""

    def __init__(self, message: Any) -> None:
        self.message = message
        record = message.raw_message
        self.topic: str = record.topic
        self.partition: int = record.partition
        self.offset: int = record.offset
        raw_key = record.key
        self.key: str | None = (
            raw_key.decode(errors="replace") if isinstance(raw_key, bytes) else raw_key
        )
        self.value: bytes = record.value or b""

    def log_extra(self) -> dict[str, Any]:
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset}


class HandlerConsumer:
    """Feeds the messages of one consumer group to one core :class:`EventHandler`.

    Args:
        handler: the core handler (``name`` gives the group, ``handles`` the types).
        config: retry budget and group naming.
        dead_letters: publishes a dead letter and returns once Kafka has it.
        stopping: set when the worker shuts down; retries stop waiting then.
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
        self._retry = config.retry
        self._handled = frozenset(event_type.__name__ for event_type in handler.handles)
        self._dead_letters = dead_letters
        self._stopping = stopping
        #: Messages acknowledged (handled, skipped as not ours, or dead-lettered).
        self.settled = 0
        #: Messages published to the dead-letter topic.
        self.dead_lettered = 0

    async def consume(self, message: Any) -> None:
        """Handle one Kafka message and settle it: ``ack`` when done, ``nack`` otherwise."""
        consumed = ConsumedMessage(message)
        try:
            done = await self._process(consumed)
        except BaseException:
            await _nack(message)
            raise
        if done:
            self.settled += 1
            await self._commit(consumed)
        else:
            await _nack(message)

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

    async def _commit(self, consumed: ConsumedMessage) -> None:
        try:
            await consumed.message.ack()
        except KafkaError as error:
            # A rebalance took the partition away (or the broker is unreachable): the
            # new owner reads from the last commit, and the inbox absorbs the repeat.
            log.warning(
                "offset commit failed; the message may be delivered again",
                extra=consumed.log_extra() | {"group": self.group, "error": repr(error)},
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


async def _nack(message: Any) -> None:
    """Seek back to the message so nothing commits past it (never raises)."""
    try:
        await message.nack()
    except Exception:  # the consumer may already be closed: nothing was committed then
        log.debug("nack failed", exc_info=True)
