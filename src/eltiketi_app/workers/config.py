"""Worker knobs: the Kafka adapter's config and the relay's timings, from ``ELTIKETI_*``.

``ELTIKETI_KAFKA_BOOTSTRAP`` comes from the app's :class:`~eltiketi_app.settings.Settings`.
The other variables below are worker-only tuning and are read here, with the same
rules as the settings module (empty = unset, every bad value reported at once).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TypeVar

import msgspec

from eltiketi_adapters.kafka import ConsumerTuning, KafkaConfig, RetryPolicy
from eltiketi_app.settings import Settings, SettingsError
from eltiketi_app.workers.roles import VARIABLES

__all__ = ["VARIABLES", "RelayTimings", "WorkerConfig", "worker_config"]

T = TypeVar("T", int, float)


class RelayTimings(msgspec.Struct, frozen=True, kw_only=True):
    """How the relay loop paces itself."""

    poll_interval: float = 0.5
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
    """Build the worker's configuration; raise :class:`SettingsError` naming every bad variable."""
    reader = _Reader(os.environ if env is None else env)
    retry = RetryPolicy(
        attempts=reader.number("ELTIKETI_KAFKA_RETRY_ATTEMPTS", int, 5, minimum=1),
        base_delay=reader.number("ELTIKETI_KAFKA_RETRY_BASE_SECONDS", float, 0.5, minimum=0),
        max_delay=reader.number("ELTIKETI_KAFKA_RETRY_MAX_SECONDS", float, 30.0, minimum=0),
    )
    consumer = ConsumerTuning(
        session_timeout_ms=reader.number(
            "ELTIKETI_KAFKA_SESSION_TIMEOUT_MS", int, 10_000, minimum=100
        ),
        heartbeat_interval_ms=reader.number(
            "ELTIKETI_KAFKA_HEARTBEAT_INTERVAL_MS", int, 3_000, minimum=50
        ),
    )
    graceful = reader.number("ELTIKETI_WORKER_GRACEFUL_SECONDS", float, 30.0, minimum=0)
    kafka: KafkaConfig | None = None
    if settings.kafka_bootstrap is not None:
        kafka = KafkaConfig(
            bootstrap=settings.kafka_bootstrap,
            topic_prefix=reader.text("ELTIKETI_KAFKA_TOPIC_PREFIX", ""),
            group_prefix=reader.text("ELTIKETI_KAFKA_GROUP_PREFIX", "eltiketi-"),
            partitions=reader.number("ELTIKETI_KAFKA_PARTITIONS", int, 12, minimum=1),
            replication_factor=reader.number(
                "ELTIKETI_KAFKA_REPLICATION_FACTOR", int, 1, minimum=1
            ),
            request_timeout_ms=reader.number(
                "ELTIKETI_KAFKA_REQUEST_TIMEOUT_MS", int, 30_000, minimum=100
            ),
            retry=retry,
            consumer=consumer,
            graceful_timeout=graceful,
        )
    relay = RelayTimings(
        poll_interval=reader.number("ELTIKETI_RELAY_POLL_SECONDS", float, 0.5, minimum=0.01),
        max_backoff=reader.number("ELTIKETI_RELAY_MAX_BACKOFF_SECONDS", float, 30.0, minimum=0.1),
    )
    reader.raise_problems()
    return WorkerConfig(kafka=kafka, relay=relay, graceful_timeout=graceful)


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self._problems: list[str] = []

    def text(self, name: str, default: str) -> str:
        value = self._env.get(name, "").strip()
        return value or default

    def number(self, name: str, kind: Callable[[str], T], default: T, *, minimum: float) -> T:
        raw = self._env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = kind(raw)
        except ValueError:
            self._problems.append(f"{name}: {raw!r} is not a number")
            return default
        if value < minimum:
            self._problems.append(f"{name}: {raw} is below the minimum {minimum:g}")
            return default
        return value

    def raise_problems(self) -> None:
        if self._problems:
            raise SettingsError(self._problems)
