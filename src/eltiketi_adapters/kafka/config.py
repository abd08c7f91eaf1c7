"""Settings of the Kafka bus: explicit values, never read from the environment here.

The app reads ``ELTIKETI_KAFKA_*`` and builds a :class:`KafkaConfig`; tests build
one directly (with short group timeouts and a unique topic prefix).
"""

from __future__ import annotations

import msgspec


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How a consumer retries a message that failed, before it dead-letters it.

    A message is tried ``attempts`` times in place (its partition waits, so order
    is kept), sleeping ``base_delay * 2**n`` seconds (at most ``max_delay``)
    between tries. Errors that say an outside system is unreachable
    (:class:`~eltiketi_core.errors.GatewayUnavailable`: the database, the payment
    provider) do not spend the budget: they are retried, with the same capped
    backoff, until the system is back or the worker stops — dead-lettering every
    message during a database outage would be wrong.
    """

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        return float(min(self.max_delay, self.base_delay * 2 ** max(0, attempt - 1)))


class ConsumerTuning(msgspec.Struct, frozen=True, kw_only=True):
    """Group membership timings of the consumers.

    The defaults suit a real Kafka cluster (which refuses session timeouts under
    6 s by default). Tests use ~1.5 s sessions so group joins take a second.

    ``fetch_max_wait_ms`` bounds how long the broker holds a fetch that found nothing.
    Kafka answers as soon as a record arrives, but not every Kafka-protocol broker does
    (tansu waits the whole time), and the client's default of 500 ms then becomes the
    delay of every event. 100 ms costs an idle consumer ten fetches a second.
    """

    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    rebalance_timeout_ms: int | None = None
    max_poll_interval_ms: int = 300_000
    fetch_max_wait_ms: int = 100


class KafkaConfig(msgspec.Struct, frozen=True, kw_only=True):
    """How to reach Kafka and how elTiketi lays out its topics and groups there.

    Attributes:
        bootstrap: ``host:port[,host:port…]`` (``ELTIKETI_KAFKA_BOOTSTRAP``).
        client_id: Shown in the broker's logs and metrics.
        topic_prefix: Put before every topic name (``staging.`` gives
            ``staging.eltiketi.orders``); tests use a unique one per test.
        group_prefix: Put before every consumer group (``eltiketi-`` gives
            ``eltiketi-inventory``; a dash, so no group is named like a topic).
        partitions: Partitions of each event topic when the worker creates it. The
            most consumers of one group that can work at once; raise it before
            you need it (tansu and many managed Kafkas cannot add partitions, and
            adding them moves keys between partitions).
        replication_factor: Copies of each partition (3 on a production cluster).
        retention_ms: How long event topics keep messages.
        dead_letter_retention_ms: How long the dead-letter topic keeps messages.
        request_timeout_ms: Client request timeout; also bounds how long a publish
            waits for an unreachable broker before the relay backs off.
        retry: In-place retries of a failing message before it is dead-lettered.
        consumer: Group membership timings.
        graceful_timeout: Seconds a stopping consumer waits for the batch in hand.
        concurrency: Keys (purchases) a consumer handles at once within a batch;
            one key's messages are always handled one after another, in order.
            Each in-flight message may hold a database connection: keep it at or
            under the worker's pool size. 1 handles one message at a time.
        batch_max_records: Most records a consumer reads per batch; the batch
            is committed once, when all of them are settled.
        batch_timeout_ms: How long an idle consumer waits for records per poll
            (records that are already there are returned at once).
    """

    bootstrap: str
    client_id: str = "eltiketi"
    topic_prefix: str = ""
    group_prefix: str = "eltiketi-"
    partitions: int = 12
    replication_factor: int = 1
    retention_ms: int = 7 * 24 * 3600 * 1000
    dead_letter_retention_ms: int = 30 * 24 * 3600 * 1000
    request_timeout_ms: int = 30_000
    retry: RetryPolicy = RetryPolicy()
    consumer: ConsumerTuning = ConsumerTuning()
    graceful_timeout: float = 30.0
    concurrency: int = 16
    batch_max_records: int = 64
    batch_timeout_ms: int = 50

    def group_id(self, handler_name: str) -> str:
        """The consumer group of the core handler called ``handler_name``."""
        return f"{self.group_prefix}{handler_name}"
