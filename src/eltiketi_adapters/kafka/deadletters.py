"""Reading and replaying the dead-letter topic (``eltiketi dead-letters list|replay``).

Listing reads the whole topic (as far as retention keeps it) without a consumer
group, so it never moves anyone's offsets. Replaying publishes a dead letter's
original bytes back to its original topic with its original key: every group
on that topic sees it again, and each handler's inbox makes that harmless for
the ones that had already processed it. A replayed message that fails again is
dead-lettered again, with a new position on the dead-letter topic.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import UTC, datetime

import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from eltiketi_adapters.kafka.config import KafkaConfig
from eltiketi_adapters.kafka.envelope import DeadLetter, decode_dead_letter, decode_envelope
from eltiketi_adapters.kafka.errors import bus_unavailable
from eltiketi_adapters.kafka.topics import TopicLayout
from eltiketi_core.errors import ValidationFailed

log = logging.getLogger(__name__)


class StoredDeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """A dead letter and where it sits on the dead-letter topic (``ref`` = ``partition:offset``)."""

    partition: int
    offset: int
    letter: DeadLetter

    @property
    def ref(self) -> str:
        return f"{self.partition}:{self.offset}"


async def list_dead_letters(
    config: KafkaConfig, *, handler: str | None = None
) -> list[StoredDeadLetter]:
    """Every dead letter still on the topic, oldest first per partition.

    Raises:
        GatewayUnavailable: Kafka cannot be reached.
    """
    topic = TopicLayout(config.topic_prefix).dead_letters
    consumer = AIOKafkaConsumer(
        bootstrap_servers=config.bootstrap,
        client_id=f"{config.client_id}-dead-letters",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=config.request_timeout_ms,
    )
    found: list[StoredDeadLetter] = []
    try:
        await consumer.start()
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:
            partitions = await _fetch_partitions(consumer, topic)
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not assigned:
            return []
        consumer.assign(assigned)
        ends = await consumer.end_offsets(assigned)
        await consumer.seek_to_beginning(*assigned)
        remaining = {tp for tp in assigned if ends[tp] > await consumer.position(tp)}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    if record.offset < ends[tp]:
                        found.append(_stored(record.partition, record.offset, record.value))
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    except KafkaError as error:
        raise bus_unavailable(error) from error
    finally:
        await consumer.stop()
    found.sort(key=lambda stored: (stored.partition, stored.offset))
    if handler is not None:
        found = [stored for stored in found if stored.letter.handler == handler]
    return found


async def replay_dead_letters(
    config: KafkaConfig,
    *,
    refs: Collection[str] = (),
    replay_all: bool = False,
    handler: str | None = None,
) -> list[StoredDeadLetter]:
    """Publish dead letters back to their original topics; returns the ones replayed.

    Args:
        config: where Kafka is.
        refs: ``partition:offset`` positions on the dead-letter topic (see ``list``).
        replay_all: replay every dead letter (optionally only ``handler``'s).
        handler: only dead letters of this handler.

    Raises:
        ValidationFailed: a ref that names no dead letter, or nothing selected.
        GatewayUnavailable: Kafka cannot be reached.
    """
    if not refs and not replay_all:
        raise ValidationFailed("nothing_selected", "name dead letters to replay, or use --all")
    letters = await list_dead_letters(config, handler=handler)
    if replay_all:
        chosen = letters
    else:
        by_ref = {stored.ref: stored for stored in letters}
        unknown = sorted(set(refs) - set(by_ref))
        if unknown:
            raise ValidationFailed("unknown_dead_letter", f"no dead letter at {', '.join(unknown)}")
        chosen = [by_ref[ref] for ref in refs]
    if not chosen:
        return []
    producer = AIOKafkaProducer(
        bootstrap_servers=config.bootstrap,
        client_id=f"{config.client_id}-replay",
        acks="all",
        enable_idempotence=False,
        request_timeout_ms=config.request_timeout_ms,
    )
    try:
        await producer.start()
        for stored in chosen:
            letter = stored.letter
            await producer.send_and_wait(
                letter.topic,
                letter.value,
                key=letter.key.encode() if letter.key is not None else None,
                headers=_headers(letter.value),
            )
            log.info(
                "dead letter replayed",
                extra={
                    "ref": stored.ref,
                    "topic": letter.topic,
                    "handler": letter.handler,
                    "event_id": str(letter.event_id) if letter.event_id else None,
                },
            )
    except KafkaError as error:
        raise bus_unavailable(error) from error
    finally:
        await producer.stop()
    return chosen


def _stored(partition: int, offset: int, value: bytes | None) -> StoredDeadLetter:
    try:
        letter = decode_dead_letter(value or b"")
    except ValidationFailed as error:
        # Someone else wrote to the topic: show it rather than hide it.
        letter = DeadLetter(
            handler="?",
            group="?",
            topic="?",
            partition=-1,
            offset=-1,
            key=None,
            value=value or b"",
            error=f"unreadable dead letter: {error}",
            attempts=0,
            failed_at=datetime(1970, 1, 1, tzinfo=UTC),
        )
    return StoredDeadLetter(partition=partition, offset=offset, letter=letter)


def _headers(value: bytes) -> list[tuple[str, bytes]] | None:
    try:
        envelope = decode_envelope(value)
    except ValidationFailed:
        return None
    return [(name, text.encode()) for name, text in envelope.headers().items()]


async def _fetch_partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    # The metadata of a topic nobody has asked about yet: one refresh, then look again.
    await consumer.topics()
    return consumer.partitions_for_topic(topic) or set()
