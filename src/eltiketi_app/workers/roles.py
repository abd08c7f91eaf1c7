"""Worker roles and tuning variables: plain data, importable without the Kafka extra.

``eltiketi --help`` reads these; the heavy parts (FastStream, the process) are
imported only when a worker or a dead-letter command actually runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from eltiketi_app.settings import PREFIX, Settings, SettingsError


class Role(StrEnum):
    RELAY = "relay"
    INVENTORY = "inventory"
    NOTIFICATIONS = "notifications"
    PAYMENTS = "payments"
    REFUNDS = "refunds"
    SWEEPER = "sweeper"


ALL = "all"
CONSUMER_ROLES = (Role.INVENTORY, Role.NOTIFICATIONS, Role.PAYMENTS, Role.REFUNDS)
KAFKA_ROLES = frozenset({Role.RELAY, *CONSUMER_ROLES})


def parse_roles(names: Iterable[str]) -> list[Role]:
    """``["inventory", "relay"]`` → roles in canonical order; ``all`` means every role.

    Raises:
        SettingsError: an unknown role, or none.
    """
    wanted: set[Role] = set()
    unknown: list[str] = []
    for name in names:
        if name == ALL:
            wanted.update(Role)
        elif name in Role._value2member_map_:
            wanted.add(Role(name))
        else:
            unknown.append(name)
    if unknown:
        choices = ", ".join([*(r.value for r in Role), ALL])
        raise SettingsError([f"unknown worker role(s) {', '.join(unknown)}; choose from {choices}"])
    if not wanted:
        raise SettingsError(["name at least one worker role"])
    return [role for role in Role if role in wanted]


_TUNING: Mapping[str, tuple[str, str]] = {
    "KAFKA_TOPIC_PREFIX": (
        "prefix of every topic name (one cluster, many stages)",
        "kafka_topic_prefix",
    ),
    "KAFKA_GROUP_PREFIX": ("prefix of every consumer group", "kafka_group_prefix"),
    "KAFKA_PARTITIONS": ("partitions of each event topic when created", "kafka_partitions"),
    "KAFKA_REPLICATION_FACTOR": (
        "copies of each partition when created",
        "kafka_replication_factor",
    ),
    "KAFKA_REQUEST_TIMEOUT_MS": ("Kafka client request timeout", "kafka_request_timeout_ms"),
    "KAFKA_SESSION_TIMEOUT_MS": ("consumer group session timeout", "kafka_session_timeout_ms"),
    "KAFKA_HEARTBEAT_INTERVAL_MS": ("consumer heartbeat interval", "kafka_heartbeat_interval_ms"),
    "KAFKA_RETRY_ATTEMPTS": (
        "tries of a failing message before dead-lettering",
        "kafka_retry_attempts",
    ),
    "KAFKA_RETRY_BASE_SECONDS": ("first retry delay (doubles, capped)", "kafka_retry_base_seconds"),
    "KAFKA_RETRY_MAX_SECONDS": ("longest retry delay", "kafka_retry_max_seconds"),
    "KAFKA_CONCURRENCY": (
        "purchases a consumer handles at once (one purchase's events stay in order)",
        "kafka_concurrency",
    ),
    "KAFKA_FETCH_MAX_WAIT_MS": (
        "longest time the broker holds a consumer's empty fetch",
        "kafka_fetch_max_wait_ms",
    ),
    "RELAY_POLL_SECONDS": (
        "relay: longest pause while the outbox stays empty",
        "relay_poll_seconds",
    ),
    "RELAY_MAX_BACKOFF_SECONDS": (
        "relay: longest pause while Kafka is away",
        "relay_max_backoff_seconds",
    ),
    "WORKER_GRACEFUL_SECONDS": (
        "how long shutdown waits for work in hand",
        "worker_graceful_seconds",
    ),
    "NOTIFICATION_RETRY_INTERVAL_SECONDS": (
        "notifications: seconds between retries of due deliveries",
        "notification_retry_interval_seconds",
    ),
}
"""Variable (without ``ELTIKETI_``) → (meaning, :class:`Settings` field holding its default)."""


def _shown(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


_DEFAULTS = Settings()

#: Variable → (meaning, default), for ``eltiketi worker --help``; defaults come from
#: :class:`Settings`, so they cannot drift from what the process really uses.
VARIABLES: Mapping[str, tuple[str, str]] = {
    PREFIX + name: (meaning, _shown(getattr(_DEFAULTS, field)))
    for name, (meaning, field) in _TUNING.items()
}
