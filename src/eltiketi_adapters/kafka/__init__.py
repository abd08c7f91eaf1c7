"""Kafka adapter: the event bus on FastStream's Kafka broker (extra ``[kafka]``).

Public API::

    config = KafkaConfig(bootstrap="kafka:9092")
    await ensure_topics(config)                  # topics are created, never auto-created
    bus = KafkaBus(config)
    bus.subscribe(handler)                       # one consumer group per core handler
    async with bus:
        OutboxRelay(uow, bus.publisher, clock)   # the relay's EventPublisher
    await list_dead_letters(config) / replay_dead_letters(config, ...)
    build_asyncapi(bus).to_json()                # the AsyncAPI document

See ``docs/operations.md`` (topics, groups, scaling, dead letters) and
``docs/asyncapi.md``.
"""

from eltiketi_adapters.kafka.asyncapi import build_asyncapi
from eltiketi_adapters.kafka.bus import KafkaBus
from eltiketi_adapters.kafka.config import ConsumerTuning, KafkaConfig, RetryPolicy
from eltiketi_adapters.kafka.consumer import HandlerConsumer
from eltiketi_adapters.kafka.deadletters import (
    StoredDeadLetter,
    list_dead_letters,
    replay_dead_letters,
)
from eltiketi_adapters.kafka.envelope import (
    DeadLetter,
    EventEnvelope,
    decode_dead_letter,
    decode_envelope,
    encode_dead_letter,
    encode_envelope,
    envelope_for,
)
from eltiketi_adapters.kafka.publisher import KafkaEventPublisher
from eltiketi_adapters.kafka.topics import FAMILIES, TopicLayout, ensure_topics

__all__ = [
    "FAMILIES",
    "ConsumerTuning",
    "DeadLetter",
    "EventEnvelope",
    "HandlerConsumer",
    "KafkaBus",
    "KafkaConfig",
    "KafkaEventPublisher",
    "RetryPolicy",
    "StoredDeadLetter",
    "TopicLayout",
    "build_asyncapi",
    "decode_dead_letter",
    "decode_envelope",
    "encode_dead_letter",
    "encode_envelope",
    "ensure_topics",
    "envelope_for",
    "list_dead_letters",
    "replay_dead_letters",
]
