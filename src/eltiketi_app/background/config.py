"""Worker knobs: the Kafka adapter's config, the relay's timings and the shutdown grace,
built from :class:`Settings` (imports the ``[kafka]`` extra: workers only).

Every ``ELTIKETI_KAFKA_*``, ``ELTIKETI_RELAY_*`` and ``ELTIKETI_WORKER_*`` variable is
read and validated by :mod:`eltiketi_app.settings`, with the rest of the operator's
contract (``docs/configuration.md``); this module only turns those values into the
adapter's structs.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from eltiketi_adapters.kafka import ConsumerTuning, KafkaConfig, RetryPolicy
from eltiketi_app.background.relay import RelayTimings
from eltiketi_app.settings import Settings

__all__ = ["RelayTimings", "WorkerConfig", "worker_config"]


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
