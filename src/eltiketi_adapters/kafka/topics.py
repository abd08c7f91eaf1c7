"""Where each domain event goes: one topic per event family, keyed by booking id.

=====================  ==============================================  ======================
topic                  events                                          consumer groups
=====================  ==============================================  ======================
``eltiketi.bookings``  BookingCreated, BookingCancelled, BookingExpired  payments
``eltiketi.payments``  PaymentStarted, PaymentFailed                   notifications
``eltiketi.orders``    OrderCreated, OrderRefunded                     inventory, notifications
``eltiketi.refunds``   RefundRequested, RefundCompleted                refunds, notifications
``eltiketi.catalog``   EventCancelled (key: the event id)              —
=====================  ==============================================  ======================

Kafka keeps order per partition, and the key (the booking id) picks the
partition, so the events of one purchase *within one topic* arrive in the order
they were recorded. A family is one of the core's ordering streams
(:attr:`~eltiketi_core.domain.events.DomainEvent.stream`), which put every pair of
events whose order matters to one handler in one topic: ``OrderRefunded`` comes
after ``OrderCreated`` for the inventory, ``BookingCancelled``/``BookingExpired``
for the payments. Across topics there is no order (the notification group may send
a refund notice before a late e-ticket mail; each is sent once either way).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from eltiketi_adapters.kafka.config import KafkaConfig
from eltiketi_adapters.kafka.errors import bus_unavailable
from eltiketi_core.domain.events import EVENT_TYPES, DomainEvent
from eltiketi_core.errors import ValidationFailed

log = logging.getLogger(__name__)


def _families() -> dict[str, tuple[type[DomainEvent], ...]]:
    families: dict[str, tuple[type[DomainEvent], ...]] = {}
    for event_type in EVENT_TYPES.values():
        families[event_type.stream] = (*families.get(event_type.stream, ()), event_type)
    return families


#: Family name → the event types its topic carries: the core's ordering streams
#: (:attr:`DomainEvent.stream`), in the order of ``AnyEvent``. A new event class
#: names its stream, so it cannot be left without a topic.
FAMILIES: Mapping[str, tuple[type[DomainEvent], ...]] = _families()

FAMILY_DESCRIPTIONS: Mapping[str, str] = {
    "bookings": "Holds: created, cancelled by the buyer or the organizer, expired.",
    "payments": "Payments started with the gateway and payments the gateway refused.",
    "orders": "Confirmed orders (with their tickets) and refunded orders.",
    "refunds": "Refunds decided (to execute through the gateway) and completed.",
    "catalog": "Catalogue facts: an event was cancelled (key: the event id).",
}

DEAD_LETTERS = "dead-letters"

_FAMILY_OF: dict[str, str] = {
    event_type.__name__: family for family, types in FAMILIES.items() for event_type in types
}


def family_of(event_type: str) -> str:
    """The family (``orders``…) of an event type name (``OrderCreated``…).

    Raises:
        ValidationFailed: the type has no topic (a new event nobody mapped).
    """
    try:
        return _FAMILY_OF[event_type]
    except KeyError:
        raise ValidationFailed(
            "unroutable_event", f"no Kafka topic carries {event_type!r} events"
        ) from None


class TopicLayout:
    """Topic names under one prefix (``""`` in production, unique per test)."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def family_topic(self, family: str) -> str:
        return f"{self.prefix}eltiketi.{family}"

    def topic_for(self, event_type: str) -> str:
        """The topic that carries ``event_type`` (a type name such as ``OrderCreated``)."""
        return self.family_topic(family_of(event_type))

    def topics_for(self, handles: Iterable[type[DomainEvent]]) -> list[str]:
        """The topics a handler of these event types subscribes to, sorted."""
        return sorted({self.topic_for(event_type.__name__) for event_type in handles})

    @property
    def event_topics(self) -> list[str]:
        return [self.family_topic(family) for family in FAMILIES]

    @property
    def dead_letters(self) -> str:
        return self.family_topic(DEAD_LETTERS)


def _check_complete() -> None:
    undescribed = sorted(set(FAMILIES) - set(FAMILY_DESCRIPTIONS))
    if undescribed:  # pragma: no cover - guarded by a unit test as well
        raise RuntimeError(f"event streams without a topic description: {undescribed}")


_check_complete()


async def ensure_topics(config: KafkaConfig) -> list[str]:
    """Create every elTiketi topic that does not exist yet; returns the ones created.

    Topics are never auto-created by producing to them: an auto-created topic gets
    the broker's default partition count, and partitions decide how far the
    consumers can scale. Existing topics are left as they are (a partition count
    below ``config.partitions`` is logged).

    Raises:
        GatewayUnavailable: Kafka cannot be reached.
        ValidationFailed: Kafka refused a topic (e.g. replication factor above the
            number of brokers).
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import KafkaError

    layout = TopicLayout(config.topic_prefix)
    wanted = {name: str(config.retention_ms) for name in layout.event_topics} | {
        layout.dead_letters: str(config.dead_letter_retention_ms)
    }
    admin = AIOKafkaAdminClient(
        bootstrap_servers=config.bootstrap,
        client_id=f"{config.client_id}-admin",
        request_timeout_ms=config.request_timeout_ms,
    )
    try:
        await admin.start()
        response = await admin.create_topics(
            [
                NewTopic(
                    name,
                    num_partitions=config.partitions,
                    replication_factor=config.replication_factor,
                    topic_configs={"retention.ms": retention, "cleanup.policy": "delete"},
                )
                for name, retention in wanted.items()
            ],
            timeout_ms=config.request_timeout_ms,
        )
        created, refused = _outcome(response.topic_errors)
        if refused:
            raise ValidationFailed("kafka_topic_refused", "; ".join(refused))
        existing = sorted(set(wanted) - set(created))
        if existing:
            await _warn_about_partitions(admin, existing, config.partitions)
    except KafkaError as error:
        raise bus_unavailable(error) from error
    except OSError as error:
        raise bus_unavailable(error) from error
    finally:
        await admin.close()
    if created:
        log.info(
            "kafka topics created",
            extra={"topics": created, "partitions": config.partitions},
        )
    return created


_TOPIC_ALREADY_EXISTS = 36


def _outcome(topic_errors: Iterable[tuple[object, ...]]) -> tuple[list[str], list[str]]:
    created: list[str] = []
    refused: list[str] = []
    for name, code, *rest in topic_errors:
        if code == 0:
            created.append(str(name))
        elif code != _TOPIC_ALREADY_EXISTS:
            message = rest[0] if rest else None
            refused.append(f"{name}: error {code} {message or ''}".strip())
    return created, refused


async def _warn_about_partitions(admin: object, topics: list[str], wanted: int) -> None:
    describe = getattr(admin, "describe_topics", None)
    if describe is None:  # pragma: no cover - every aiokafka we support has it
        return
    try:
        described = await describe(topics)
    except Exception:  # informational only; some brokers do not answer it
        log.debug("could not describe kafka topics", exc_info=True)
        return
    for topic in described:
        count = len(topic.get("partitions", ()))
        if count < wanted:
            log.warning(
                "kafka topic has fewer partitions than configured",
                extra={"topic": topic.get("topic"), "partitions": count, "configured": wanted},
            )
