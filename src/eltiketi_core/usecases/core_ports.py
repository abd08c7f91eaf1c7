"""The three ports nearly every use case works with, passed as one value.

Almost every use case opens transactions, reads the time and mints ids. Taking the three as
one :class:`CorePorts` keeps each constructor down to what makes that use case different
(a gateway, a signer, the policy), and the composition root builds the bundle once.
"""

from __future__ import annotations

from dataclasses import dataclass

from eltiketi_core.ports.clock import Clock, IdGenerator
from eltiketi_core.ports.uow import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class CorePorts:
    """Transactions (``uow``), the time (``clock``) and fresh ids (``ids``)."""

    uow: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator


class UseCase:
    """Base of the use cases built on :class:`CorePorts`: holds them as ``_uow``,
    ``_clock`` and ``_ids``, the names the use cases' methods read."""

    def __init__(self, ports: CorePorts) -> None:
        self._uow = ports.uow
        self._clock = ports.clock
        self._ids = ports.ids
