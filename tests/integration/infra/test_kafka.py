"""Smoke tests: the tansu broker fixture speaks enough Kafka for our delivery design."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError

from tests.infra.fixtures import KafkaBrokerFactory
from tests.infra.kafka import FAST_GROUP_SETTINGS, KafkaBroker, create_topics, unique_name

pytestmark = pytest.mark.kafka


async def test_keyed_messages_reach_a_consumer_group(kafka_broker: KafkaBroker) -> None:
    topic, group = unique_name("smoke"), unique_name("group")
    await create_topics(kafka_broker.bootstrap, {topic: 3})
    producer = AIOKafkaProducer(bootstrap_servers=kafka_broker.bootstrap)
    await producer.start()
    try:
        sent = {}
        for i in range(9):
            key = f"booking-{i % 3}".encode()
            metadata = await producer.send_and_wait(topic, f"event-{i}".encode(), key=key)
            sent[f"event-{i}"] = (key, metadata.partition)
    finally:
        await producer.stop()
    assert {partition for _, partition in sent.values()} <= {0, 1, 2}
    # the same key always lands on the same partition
    partitions_by_key: dict[bytes, set[int]] = {}
    for key, partition in sent.values():
        partitions_by_key.setdefault(key, set()).add(partition)
    assert all(len(parts) == 1 for parts in partitions_by_key.values())

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_broker.bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **FAST_GROUP_SETTINGS,
    )
    await consumer.start()
    received: dict[str, tuple[bytes | None, int]] = {}
    try:
        async with asyncio.timeout(20):
            while len(received) < len(sent):
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    for record in records:
                        assert record.value is not None
                        received[record.value.decode()] = (record.key, record.partition)
        await consumer.commit()
    finally:
        await consumer.stop()
    assert received == sent


async def test_pause_blocks_producing_and_resume_recovers(
    kafka_broker_factory: KafkaBrokerFactory,
) -> None:
    broker = kafka_broker_factory()
    topic = unique_name("outage")
    await create_topics(broker.bootstrap, {topic: 1})
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, request_timeout_ms=1000)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"before")
        with broker.paused(), pytest.raises((KafkaError, TimeoutError)):
            async with asyncio.timeout(3):
                await producer.send_and_wait(topic, b"during")
        async with asyncio.timeout(15):
            metadata = await producer.send_and_wait(topic, b"after")
        assert metadata.topic == topic
    finally:
        await producer.stop()
