"""(b) Poison messages go to the dead-letter topic after the retry budget; nothing is lost."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaProducer

from eltiketi_adapters.kafka import (
    KafkaBus,
    KafkaConfig,
    ensure_topics,
    list_dead_letters,
    replay_dead_letters,
)
from eltiketi_core.domain.events import BookingCreated, DomainEvent
from eltiketi_core.errors import GatewayUnavailable
from tests.contract.builders import booking_created
from tests.infra.kafka import KafkaBroker
from tests.integration.kafka.deployment import eltiketi_argv
from tests.integration.kafka.support import eventually, kafka_test_config

pytestmark = pytest.mark.kafka


class PickyHandler:
    """Fails on the events it is told to refuse (until healed); records what it handled."""

    name = "picky"
    handles: frozenset[type[DomainEvent]] = frozenset({BookingCreated})

    def __init__(self, refuse: set[UUID], *, error: type[Exception] = RuntimeError) -> None:
        self.refuse = refuse
        self.error = error
        self.handled: list[UUID] = []
        self.tries: dict[UUID, int] = {}

    async def __call__(self, event: DomainEvent) -> None:
        self.tries[event.id] = self.tries.get(event.id, 0) + 1
        if event.id in self.refuse:
            raise self.error(f"cannot handle {event.id}")
        if event.id not in self.handled:  # the inbox's job in production
            self.handled.append(event.id)


async def test_a_poison_message_is_dead_lettered_and_the_partition_moves_on_and_replay_works(
    kafka_broker: KafkaBroker,
) -> None:
    config = kafka_test_config(kafka_broker.bootstrap)
    await ensure_topics(config)
    booking = uuid4()  # one key: everything on one partition, behind the poison
    events = [booking_created(booking) for _ in range(6)]
    poison = events[2]
    handler = PickyHandler(refuse={poison.id})
    bus = KafkaBus(config)
    consumer = bus.subscribe(handler)
    async with bus:
        await bus.publisher.publish(events)
        await _publish_raw(config, bus.layout.family_topic("bookings"), b"not an envelope")
        await eventually(lambda: _true(consumer.settled >= 7))

    assert handler.handled == [e.id for e in events if e is not poison]
    assert handler.tries[poison.id] == config.retry.attempts
    assert consumer.dead_lettered == 2

    letters = await list_dead_letters(config)
    assert len(letters) == 2
    by_event = {stored.letter.event_id: stored for stored in letters}
    stored = by_event[poison.id]
    assert stored.letter.handler == "picky"
    assert stored.letter.group == config.group_id("picky")
    assert stored.letter.topic == bus.layout.family_topic("bookings")
    assert stored.letter.key == str(booking)
    assert stored.letter.attempts == config.retry.attempts
    assert "RuntimeError: cannot handle" in stored.letter.error
    assert stored.letter.offset == 2  # its position on the original partition
    garbage = by_event[None]
    assert garbage.letter.value == b"not an envelope"
    assert garbage.letter.attempts == 1
    assert "malformed_envelope" in garbage.letter.error

    # The bug is fixed; the operator replays the poison message only.
    handler.refuse.clear()
    replayed = await replay_dead_letters(config, refs=[stored.ref])
    assert [r.ref for r in replayed] == [stored.ref]
    bus = KafkaBus(config)
    consumer = bus.subscribe(handler)
    async with bus:
        await eventually(lambda: _true(poison.id in handler.handled))
    assert handler.handled.count(poison.id) == 1
    assert consumer.dead_lettered == 0
    assert len(await list_dead_letters(config)) == 2  # the topic is a log; list shows history


async def test_stopping_during_retries_leaves_the_message_for_the_next_consumer(
    kafka_broker: KafkaBroker,
) -> None:
    """FastStream's ack commits the whole position: a message being retried must never
    be committed past, even when a later message of another partition is acked."""
    config = kafka_test_config(kafka_broker.bootstrap)
    await ensure_topics(config)
    stuck = booking_created(uuid4())
    others = [booking_created(uuid4()) for _ in range(8)]
    # The database is "down" for this one event: retried without spending the budget.
    handler = PickyHandler(refuse={stuck.id}, error=GatewayUnavailable)
    bus = KafkaBus(config)
    consumer = bus.subscribe(handler)
    async with bus:
        await bus.publisher.publish([stuck, *others])
        await eventually(lambda: _true(handler.tries.get(stuck.id, 0) >= 4))
    assert consumer.dead_lettered == 0
    assert stuck.id not in handler.handled

    handler.refuse.clear()  # the database is back; a new worker starts
    bus = KafkaBus(config)
    bus.subscribe(handler)
    async with bus:
        await eventually(lambda: _true(stuck.id in handler.handled))
    assert set(handler.handled) == {e.id for e in [stuck, *others]}


async def test_listing_an_empty_dead_letter_topic(kafka_broker: KafkaBroker) -> None:
    config = kafka_test_config(kafka_broker.bootstrap)
    await ensure_topics(config)
    assert await list_dead_letters(config) == []


async def _publish_raw(config: KafkaConfig, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=config.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"garbage", headers=[("x", b"\xff\xfe")])
    finally:
        await producer.stop()


async def _true(value: bool) -> bool:
    return value


async def test_the_dead_letters_command_lists_and_replays(
    kafka_broker: KafkaBroker, tmp_path: Path
) -> None:
    config = kafka_test_config(kafka_broker.bootstrap)
    await ensure_topics(config)
    poison = booking_created(uuid4())
    handler = PickyHandler(refuse={poison.id})
    bus = KafkaBus(config)
    consumer = bus.subscribe(handler)
    async with bus:
        await bus.publisher.publish([poison])
        await eventually(lambda: _true(consumer.dead_lettered == 1))

    env = {
        "ELTIKETI_DATA_DIR": str(tmp_path),
        "ELTIKETI_KAFKA_BOOTSTRAP": config.bootstrap,
        "ELTIKETI_KAFKA_TOPIC_PREFIX": config.topic_prefix,
    }
    status, out, err = await _eltiketi(env, "dead-letters", "list", "--json")
    assert status == 0, err
    (line,) = out.splitlines()
    listed = json.loads(line)
    assert listed["handler"] == "picky"
    assert listed["event_id"] == str(poison.id)
    assert "1 dead letter(s)" in err

    status, out, err = await _eltiketi(env, "dead-letters", "replay", "9:9")
    assert status == 2
    assert "no dead letter at 9:9" in err

    handler.refuse.clear()
    status, out, err = await _eltiketi(env, "dead-letters", "replay", listed["ref"])
    assert status == 0, err
    assert out.strip() == f"replayed {listed['ref']} -> {config.topic_prefix}eltiketi.bookings"
    bus = KafkaBus(config)
    bus.subscribe(handler)
    async with bus:
        await eventually(lambda: _true(poison.id in handler.handled))


async def _eltiketi(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *eltiketi_argv(*args),
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
