"""Worker roles and tuning variables: plain data, importable without the Kafka extra.

``eltiketi --help`` reads these; the heavy parts (FastStream, the process) are
imported only when a worker or a dead-letter command actually runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from eltiketi_app.settings import SettingsError


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


#: Variable → (meaning, default), for ``docs/operations.md`` and ``--help``.
VARIABLES: Mapping[str, tuple[str, str]] = {
    "ELTIKETI_KAFKA_TOPIC_PREFIX": ("prefix of every topic name (one cluster, many stages)", ""),
    "ELTIKETI_KAFKA_GROUP_PREFIX": ("prefix of every consumer group", "eltiketi-"),
    "ELTIKETI_KAFKA_PARTITIONS": ("partitions of each event topic when created", "12"),
    "ELTIKETI_KAFKA_REPLICATION_FACTOR": ("copies of each partition when created", "1"),
    "ELTIKETI_KAFKA_REQUEST_TIMEOUT_MS": ("Kafka client request timeout", "30000"),
    "ELTIKETI_KAFKA_SESSION_TIMEOUT_MS": ("consumer group session timeout", "10000"),
    "ELTIKETI_KAFKA_HEARTBEAT_INTERVAL_MS": ("consumer heartbeat interval", "3000"),
    "ELTIKETI_KAFKA_RETRY_ATTEMPTS": ("tries of a failing message before dead-lettering", "5"),
    "ELTIKETI_KAFKA_RETRY_BASE_SECONDS": ("first retry delay (doubles, capped)", "0.5"),
    "ELTIKETI_KAFKA_RETRY_MAX_SECONDS": ("longest retry delay", "30"),
    "ELTIKETI_RELAY_POLL_SECONDS": ("relay: pause when the outbox is empty", "0.5"),
    "ELTIKETI_RELAY_MAX_BACKOFF_SECONDS": ("relay: longest pause while Kafka is away", "30"),
    "ELTIKETI_WORKER_GRACEFUL_SECONDS": ("how long shutdown waits for work in hand", "30"),
}
