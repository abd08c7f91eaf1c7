"""``KafkaBus``: one FastStream ``KafkaBroker`` with elTiketi's publishers and consumer groups.

A worker process builds one bus, asks it for the relay's publisher and/or
subscribes core handlers to it, then starts it::

    bus = KafkaBus(KafkaConfig(bootstrap="kafka:9092"))
    for handler in ticketing.handlers:          # or the ones this worker runs
        bus.subscribe(handler)
    await ensure_topics(bus.config)             # the worker creates topics, never the producer
    async with bus:                             # start … graceful stop
        relay = OutboxRelay(uow, bus.publisher, clock)

The same object, never started, describes every topic and group for the
AsyncAPI document (:mod:`eltiketi_adapters.kafka.asyncapi`).
"""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType
from typing import Any, Self

from aiokafka.errors import KafkaError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.kafka.message import KafkaAckableMessage
from faststream.kafka.schemas import Topic

from eltiketi_adapters.kafka import schemas
from eltiketi_adapters.kafka.config import KafkaConfig
from eltiketi_adapters.kafka.consumer import HandlerConsumer
from eltiketi_adapters.kafka.envelope import DeadLetter, encode_dead_letter
from eltiketi_adapters.kafka.errors import bus_unavailable
from eltiketi_adapters.kafka.publisher import KafkaEventPublisher
from eltiketi_adapters.kafka.topics import FAMILIES, FAMILY_DESCRIPTIONS, TopicLayout
from eltiketi_core.ports.messaging import EventHandler

log = logging.getLogger(__name__)

BROKER_DESCRIPTION = (
    "elTiketi domain events. Written only by the outbox relay (acks=all), keyed by "
    "booking id; each core handler reads them in its own consumer group and is "
    "idempotent through its inbox. Failed messages go to the dead-letter topic."
)


class KafkaBus:
    """The Kafka side of a worker: publishers per event family, consumers per handler.

    A bus is started once and stopped once; build a new one to start again.

    Args:
        config: bootstrap servers, topic layout, retry budget, group timings.
        logger: where FastStream's own log lines go (per-message lines are DEBUG).
    """

    def __init__(self, config: KafkaConfig, *, logger: logging.Logger | None = None) -> None:
        self.config = config
        self.layout = TopicLayout(config.topic_prefix)
        self.stopping = asyncio.Event()
        self.broker = KafkaBroker(
            config.bootstrap,
            client_id=config.client_id,
            acks="all",
            enable_idempotence=False,
            request_timeout_ms=config.request_timeout_ms,
            graceful_timeout=config.graceful_timeout,
            logger=logger or logging.getLogger("eltiketi.kafka"),
            log_level=logging.DEBUG,
            description=BROKER_DESCRIPTION,
        )
        self._family_publishers = {
            family: self.broker.publisher(
                self.layout.family_topic(family),
                title=self.layout.family_topic(family),
                description=f"{FAMILY_DESCRIPTIONS[family]} Key: booking id.",
                schema=schemas.envelope_payload(types),
            )
            for family, types in FAMILIES.items()
        }
        self._dead_letter_publisher = self.broker.publisher(
            self.layout.dead_letters,
            title=self.layout.dead_letters,
            description=(
                "Messages a consumer gave up on after its retry budget, with the error, "
                "the handler and the original topic/partition/offset. "
                "`eltiketi dead-letters list|replay`."
            ),
            schema=schemas.dead_letter_payload(),
        )
        self.publisher = KafkaEventPublisher(self._family_publishers)
        self.consumers: dict[str, HandlerConsumer] = {}
        self._started = False

    def subscribe(self, handler: EventHandler) -> HandlerConsumer:
        """Run ``handler`` in its own consumer group on the topics of its event types."""
        if handler.name in self.consumers:
            raise ValueError(f"handler {handler.name!r} is subscribed already")
        consumer = HandlerConsumer(handler, self.config, self.dead_letter, self.stopping)
        tuning = self.config.consumer
        topics = self.layout.topics_for(handler.handles)
        subscriber = self.broker.subscriber(
            *(Topic(name, declare=False) for name in topics),
            group_id=consumer.group,
            batch=True,
            max_records=self.config.batch_max_records,
            batch_timeout_ms=self.config.batch_timeout_ms,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            session_timeout_ms=tuning.session_timeout_ms,
            heartbeat_interval_ms=tuning.heartbeat_interval_ms,
            rebalance_timeout_ms=tuning.rebalance_timeout_ms,
            max_poll_interval_ms=tuning.max_poll_interval_ms,
            fetch_max_wait_ms=tuning.fetch_max_wait_ms,
            title=consumer.group,
            description=_group_description(handler),
        )

        async def batch_parser(records: tuple[Any, ...]) -> Any:
            # Built here, not by FastStream's parser: that one decodes every header as
            # UTF-8, and one message with binary headers would make the whole batch
            # unreadable (and unacked). The consumer reads records, never headers.
            first, last = records[0], records[-1]
            return KafkaAckableMessage(
                body=[record.value or b"" for record in records],
                headers={},
                raw_message=records,
                message_id=f"{first.offset}-{last.offset}-{first.timestamp}",
                consumer=subscriber.consumer,
            )

        async def first_record(message: Any) -> Any:
            # FastStream documents (and validates) the body parameter as the AsyncAPI
            # payload. On the wire every record is one envelope, so the body is
            # declared as one envelope and given the batch's first record; the
            # consumer reads every record from the message itself.
            return message.body[0]

        async def handle(body: bytes, message: KafkaMessage) -> None:
            await consumer.consume_batch(message)

        # Set as objects, not strings: FastStream reads them for the AsyncAPI payload.
        handle.__annotations__ = {
            "body": schemas.envelope_body(handler.handles),
            "message": KafkaMessage,
            "return": None,
        }
        handle.__name__ = f"handle_{handler.name}"
        subscriber(handle, parser=batch_parser, decoder=first_record)
        self.consumers[handler.name] = consumer
        return consumer

    async def dead_letter(self, letter: DeadLetter) -> None:
        """Publish a dead letter, keyed like the original, and wait for Kafka's ack."""
        await self._dead_letter_publisher.publish(
            encode_dead_letter(letter),
            key=letter.key.encode() if letter.key is not None else None,
            headers={"eltiketi-handler": letter.handler},
        )

    async def start(self) -> None:
        """Connect and start every consumer.

        Raises:
            GatewayUnavailable: Kafka cannot be reached.
        """
        try:
            await self.broker.start()
        except (KafkaError, OSError) as error:
            await self._close_quietly()
            raise bus_unavailable(error) from error
        self._started = True
        log.info(
            "kafka bus started",
            extra={"bootstrap": self.config.bootstrap, "groups": sorted(self.consumers)},
        )

    async def stop(self) -> None:
        """Stop consuming: messages being handled finish their current try; the
        batch in hand is committed if all of it got settled, otherwise sought back
        and left for redelivery; then every client closes."""
        self.stopping.set()
        await self._close_quietly()
        if self._started:
            self._started = False
            log.info("kafka bus stopped")

    async def _close_quietly(self) -> None:
        try:
            await self.broker.stop()
        except Exception:  # closing a half-started client must not mask the real error
            log.debug("closing the kafka broker failed", exc_info=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def _group_description(handler: EventHandler) -> str:
    types = ", ".join(sorted(event_type.__name__ for event_type in handler.handles))
    return (
        f"Consumer group of the core handler `{handler.name}` ({type(handler).__name__}): "
        f"handles {types}; other types on its topics are skipped. Idempotent through its "
        "inbox; retries in place, then dead-letters."
    )
