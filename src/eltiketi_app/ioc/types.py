"""Small app-level types the container hands out (dishka keys by type).

They wrap what has no type of its own (a list of notifiers, a UoW factory, two
render functions) so a test can swap one of them by providing another instance.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from eltiketi_core.ports.notifications import Notifier
from eltiketi_core.ports.uow import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class Persistence:
    """The stores behind the unit of work, and how to check and close them.

    ``subscribe_commits`` registers a callback run after every successful commit
    (the relay wakes up with it); it is ``None`` when the adapter has no such hook,
    and the relay then only ticks.
    """

    uow: UnitOfWorkFactory
    kind: str
    ping: Callable[[], Awaitable[None]]
    subscribe_commits: Callable[[Callable[[], None]], None] | None = None
    #: one write transaction at a time (SQLite, memory): reservations are grouped per
    #: database there, not per event
    serialises_writes: bool = False


@dataclass(frozen=True, slots=True)
class Notifiers:
    """Every delivery channel, e-mail first."""

    channels: Sequence[Notifier] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class QrRenderer:
    """Turns a ticket token into a QR image."""

    png: Callable[[str], bytes]
    svg: Callable[[str], bytes]
