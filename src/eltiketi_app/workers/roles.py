"""Worker roles and tuning variables: plain data, importable without the Kafka extra.

``eltiketi --help`` reads these; the heavy parts (FastStream, the process) are
imported only when a worker or a dead-letter command actually runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from eltiketi_app.settings import WORKER_TUNING, Settings, SettingsError
from eltiketi_app.settings.declaration import declarations, shown


class Role(StrEnum):
    RELAY = "relay"
    INVENTORY = "inventory"
    NOTIFICATIONS = "notifications"
    PAYMENTS = "payments"
    REFUNDS = "refunds"
    SWEEPER = "sweeper"
    JOBS = "jobs"


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


#: Variable → (meaning, default), for ``eltiketi worker --help``: the declarations of the
#: worker tuning groups, so neither can drift from what the process really uses.
VARIABLES: Mapping[str, tuple[str, str]] = {
    declared.name: (declared.var.doc.split(". ")[0], shown(declared.default))
    for declared in declarations(Settings)
    if declared.var.group in WORKER_TUNING
}
