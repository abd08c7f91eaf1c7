"""How a Kafka consumer splits, handles and settles one batch (no broker needed).

The batch message below is a small stand-in for FastStream's batch ``KafkaMessage``:
it records what the consumer does with it (one commit, or seeks back + nack), which
is exactly the behaviour under test. The handler is a real ``EventHandler``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from uuid import UUID, uuid4

from aiokafka import TopicPartition

from eltiketi_adapters.kafka import KafkaConfig, RetryPolicy, encode_envelope, envelope_for
from eltiketi_adapters.kafka.consumer import (
    ConsumedMessage,
    HandlerConsumer,
    first_offsets,
    ordered_groups,
)
from eltiketi_adapters.kafka.envelope import DeadLetter
from eltiketi_core.domain.events import BookingCreated, DomainEvent
from eltiketi_core.errors import GatewayUnavailable
from tests.contract.builders import booking_created

TOPIC = "eltiketi.bookings"


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass
class SeekingConsumer:
    seeks: dict[TopicPartition, int] = field(default_factory=dict)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.seeks[partition] = offset


@dataclass
class BatchMessage:
    raw_message: tuple[Record, ...]
    consumer: SeekingConsumer = field(default_factory=SeekingConsumer)
    acks: int = 0
    nacks: int = 0

    async def ack(self) -> None:
        self.acks += 1

    async def nack(self) -> None:
        self.nacks += 1


class RecordingHandler:
    """Handles BookingCreated; remembers the order per booking and the most in flight."""

    name = "recording"
    handles: frozenset[type[DomainEvent]] = frozenset({BookingCreated})

    def __init__(self, *, unavailable: set[UUID] | None = None) -> None:
        self.unavailable = unavailable or set()
        self.handled: list[UUID] = []
        self.by_booking: dict[UUID, list[UUID]] = {}
        self.in_flight = 0
        self.most_in_flight = 0

    async def __call__(self, event: DomainEvent) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.01)
            if event.id in self.unavailable:
                raise GatewayUnavailable("database", "down for this test")
            self.handled.append(event.id)
            self.by_booking.setdefault(event.booking_id, []).append(event.id)
        finally:
            self.in_flight -= 1


def records_of(events: list[BookingCreated], partitions: int = 3) -> tuple[Record, ...]:
    """Records as Kafka would lay them out: one key on one partition, offsets rising."""
    next_offset = dict.fromkeys(range(partitions), 100)
    records = []
    for event in events:
        partition = event.booking_id.int % partitions
        records.append(
            Record(
                TOPIC,
                partition,
                next_offset[partition],
                str(event.booking_id).encode(),
                encode_envelope(envelope_for(event)),
            )
        )
        next_offset[partition] += 1
    return tuple(records)


def consumer_for(
    handler: RecordingHandler, *, concurrency: int = 16, stopping: asyncio.Event | None = None
) -> tuple[HandlerConsumer, list[DeadLetter]]:
    letters: list[DeadLetter] = []

    async def sink(letter: DeadLetter) -> None:
        letters.append(letter)

    config = KafkaConfig(
        bootstrap="unused:9092",
        concurrency=concurrency,
        retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02),
    )
    return HandlerConsumer(handler, config, sink, stopping or asyncio.Event()), letters


def test_groups_follow_keys_and_keep_batch_order() -> None:
    a, b = b"a", b"b"
    records = [
        ConsumedMessage(Record(TOPIC, 0, 1, a, b"")),
        ConsumedMessage(Record(TOPIC, 1, 7, b, b"")),
        ConsumedMessage(Record(TOPIC, 0, 2, a, b"")),
        ConsumedMessage(Record(TOPIC, 2, 4, None, b"")),
        ConsumedMessage(Record(TOPIC, 2, 5, None, b"")),
        ConsumedMessage(Record(TOPIC, 0, 3, a, b"")),
    ]
    groups = ordered_groups(records)
    assert [[(r.partition, r.offset) for r in group] for group in groups] == [
        [(0, 1), (0, 2), (0, 3)],
        [(1, 7)],
        [(2, 4), (2, 5)],  # no key: the partition's order is kept
    ]
    assert first_offsets(records) == {(TOPIC, 0): 1, (TOPIC, 1): 7, (TOPIC, 2): 4}


async def test_a_batch_is_handled_concurrently_in_key_order_and_committed_once() -> None:
    bookings = [uuid4() for _ in range(10)]
    chains = {booking: [booking_created(booking) for _ in range(3)] for booking in bookings}
    interleaved = [event for step in zip(*chains.values(), strict=True) for event in step]
    handler = RecordingHandler()
    consumer, letters = consumer_for(handler, concurrency=4)
    message = BatchMessage(records_of(interleaved))

    await consumer.consume_batch(message)

    assert message.acks == 1
    assert message.nacks == 0
    assert message.consumer.seeks == {}
    assert handler.most_in_flight == 4  # bounded by the setting, and reached
    for booking, events in chains.items():
        assert handler.by_booking[booking] == [event.id for event in events]
    assert consumer.settled == len(interleaved)
    assert letters == []


async def test_one_key_at_a_time_when_concurrency_is_one() -> None:
    handler = RecordingHandler()
    consumer, _ = consumer_for(handler, concurrency=1)
    message = BatchMessage(records_of([booking_created(uuid4()) for _ in range(5)]))
    await consumer.consume_batch(message)
    assert handler.most_in_flight == 1
    assert message.acks == 1


async def test_an_unsettled_record_sends_the_whole_batch_back_and_settled_ones_are_not_redone() -> (
    None
):
    stuck_booking = uuid4()
    stuck = booking_created(stuck_booking)
    behind_stuck = booking_created(stuck_booking)
    others = [booking_created(uuid4()) for _ in range(8)]
    handler = RecordingHandler(unavailable={stuck.id})
    stopping = asyncio.Event()
    consumer, letters = consumer_for(handler, stopping=stopping)
    records = records_of([*others[:4], stuck, behind_stuck, *others[4:]])
    message = BatchMessage(records)

    async def stop_once_the_others_are_done() -> None:
        while len(handler.handled) < len(others):  # noqa: ASYNC110 - waiting on the handler
            await asyncio.sleep(0.005)
        stopping.set()

    await asyncio.gather(consumer.consume_batch(message), stop_once_the_others_are_done())

    # Nothing committed; every partition of the batch rewound to its first record.
    assert message.acks == 0
    assert message.nacks == 1
    expected = {
        TopicPartition(topic, partition): offset
        for (topic, partition), offset in first_offsets(
            [ConsumedMessage(r) for r in records]
        ).items()
    }
    assert message.consumer.seeks == expected
    assert behind_stuck.id not in handler.handled  # its key waited behind the stuck one
    assert consumer.settled == 0
    assert letters == []

    # The dependency is back; the same batch is read again by a consumer still running.
    handler.unavailable.clear()
    stopping.clear()
    again = BatchMessage(records)
    await consumer.consume_batch(again)
    assert again.acks == 1
    assert sorted(handler.handled) == sorted(e.id for e in [*others, stuck, behind_stuck])
    assert len(handler.handled) == len(others) + 2  # the settled ones were not redone
    assert handler.by_booking[stuck_booking] == [stuck.id, behind_stuck.id]


async def test_poison_and_foreign_records_settle_and_the_batch_commits() -> None:
    good = booking_created(uuid4())
    handler = RecordingHandler()
    consumer, letters = consumer_for(handler)
    records = (
        Record(TOPIC, 0, 1, b"garbage", b"not an envelope"),
        *records_of([good]),
    )
    message = BatchMessage(records)
    await consumer.consume_batch(message)
    assert message.acks == 1
    assert handler.handled == [good.id]
    assert [letter.value for letter in letters] == [b"not an envelope"]
    assert consumer.dead_lettered == 1
