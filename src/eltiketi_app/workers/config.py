"""Worker knobs: the Kafka adapter's config and the relay's timings, built from :class:`Settings`.

Every ``ELTIKETI_KAFKA_*``, ``ELTIKETI_RELAY_*`` and ``ELTIKETI_WORKER_*`` variable is
read and validated by :mod:`eltiketi_app.settings`, with the rest of the operator's
contract (``docs/configuration.md``); this module only turns those values into the
adapter's structs.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from eltiketi_adapters.kafka import ConsumerTuning, KafkaConfig, RetryPolicy
from eltiketi_app.settings import Settings
from eltiketi_app.workers.roles import VARIABLES

__all__ = ["VARIABLES", "RelayTimings", "WorkerConfig", "worker_config"]


class RelayTimings(msgspec.Struct, frozen=True, kw_only=True):
    """How the relay loop paces itself.

    ``poll_interval`` is the longest pause while the outbox stays empty. After a batch
    that was not full the relay looks again after ``quick_poll``, doubling the pause on
    every empty look; after a full one (``batch`` events) it looks at once. Under
    traffic an event waits tens of milliseconds, not half a second, for the next look,
    batches stay large enough to be cheap, and an idle outbox is still read only about
    twice a second.
    """

    poll_interval: float = 0.5
    quick_poll: float = 0.05
    lease_retry: float = 2.0
    base_backoff: float = 0.5
    max_backoff: float = 30.0
    batch: int = 100


class WorkerConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a worker process needs beyond the app's settings."""

    kafka: KafkaConfig | None
    relay: RelayTimings = RelayTimings()
    graceful_timeout: float = 30.0


def worker_config(settings: Settings, env: Mapping[str, str] | None = None) -> WorkerConfig:
    """Build the worker's configuration from ``settings``.

    Args:
        settings: the process's settings (:meth:`Settings.from_env` read the tuning).
        env: if given, the tuning variables are read again from this mapping instead
            (tests and tools that try other values on the same settings).

    Raises:
        SettingsError: naming every bad variable in ``env``.
    """
    if env is not None:
        settings = settings.with_worker_tuning_from(env)
    kafka: KafkaConfig | None = None
    if settings.kafka_bootstrap is not None:
        kafka = KafkaConfig(
            bootstrap=settings.kafka_bootstrap,
            topic_prefix=settings.kafka_topic_prefix,
            group_prefix=settings.kafka_group_prefix,
            partitions=settings.kafka_partitions,
            replication_factor=settings.kafka_replication_factor,
            request_timeout_ms=settings.kafka_request_timeout_ms,
            retry=RetryPolicy(
                attempts=settings.kafka_retry_attempts,
                base_delay=settings.kafka_retry_base_seconds,
                max_delay=settings.kafka_retry_max_seconds,
            ),
            consumer=ConsumerTuning(
                session_timeout_ms=settings.kafka_session_timeout_ms,
                heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
                fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
            ),
            graceful_timeout=settings.worker_graceful_seconds,
            concurrency=settings.kafka_concurrency,
        )
    relay = RelayTimings(
        poll_interval=settings.relay_poll_seconds,
        max_backoff=settings.relay_max_backoff_seconds,
    )
    return WorkerConfig(kafka=kafka, relay=relay, graceful_timeout=settings.worker_graceful_seconds)
