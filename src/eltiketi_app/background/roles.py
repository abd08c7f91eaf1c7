"""The roles of background work, and what each runs: plain data, importable without Kafka.

``eltiketi --help`` reads these; the heavy parts (FastStream, the worker process) are
imported only when a worker or a dead-letter command actually runs.

=================  =========================================================================
``relay``          outbox → the bus, one relay at a time (the lease)
``inventory``      consumer of the core ``InventoryHandler`` (held → sold, sold back)
``notifications``  consumer of ``NotificationHandler``, plus the retry of failed sends
``payments``       consumer of ``PaymentCanceller`` (expired/cancelled holds)
``refunds``        consumer of ``RefundExecutor`` (money back through the gateway)
``sweeper``        releases expired holds; prunes outbox, inbox and idempotency records
``jobs``           background jobs (event cancellations), batch by batch under a lease
``all``            every role above (what ``eltiketi serve`` runs without Kafka)
=================  =========================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import StrEnum

from eltiketi_app.settings import WORKER_TUNING, Settings, SettingsError
from eltiketi_app.settings.declaration import declarations, shown
from eltiketi_core.ports.messaging import EventHandler
from eltiketi_core.usecases import Ticketing


class Role(StrEnum):
    RELAY = "relay"
    INVENTORY = "inventory"
    NOTIFICATIONS = "notifications"
    PAYMENTS = "payments"
    REFUNDS = "refunds"
    SWEEPER = "sweeper"
    JOBS = "jobs"


ALL = "all"
#: Every role, in canonical order: the embedded server runs them all.
EVERY_ROLE: tuple[Role, ...] = tuple(Role)
CONSUMER_ROLES = (Role.INVENTORY, Role.NOTIFICATIONS, Role.PAYMENTS, Role.REFUNDS)
#: Roles that need a bus: with Kafka, they need ``ELTIKETI_KAFKA_BOOTSTRAP``.
KAFKA_ROLES = frozenset({Role.RELAY, *CONSUMER_ROLES})

#: The loops a role runs (named as in metrics, logs and ``/health/ready``). The
#: consumers' handlers are not loops: the bus calls them.
LOOPS: Mapping[Role, tuple[str, ...]] = {
    Role.RELAY: ("relay",),
    Role.NOTIFICATIONS: ("notification_retry",),
    Role.SWEEPER: ("sweeper", "prune"),
    Role.JOBS: ("jobs",),
}

_HANDLERS: Mapping[Role, Callable[[Ticketing], EventHandler]] = {
    Role.INVENTORY: lambda core: core.inventory_handler,
    Role.NOTIFICATIONS: lambda core: core.notification_handler,
    Role.PAYMENTS: lambda core: core.payment_canceller,
    Role.REFUNDS: lambda core: core.refund_executor,
}


def handlers_for(roles: Iterable[Role], core: Ticketing) -> list[EventHandler]:
    """The core handlers the consumer roles among ``roles`` run, in the core's order."""
    chosen = [_HANDLERS[role](core) for role in roles if role in _HANDLERS]
    return [handler for handler in core.handlers if any(handler is c for c in chosen)]


def loops_for(roles: Sequence[Role]) -> list[str]:
    """The names of the loops ``roles`` run, in canonical order."""
    return [name for role in Role if role in roles for name in LOOPS.get(role, ())]


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
