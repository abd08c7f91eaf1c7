"""A fully wired in-memory elTiketi: the one-liner behind the pytest plugin."""

from __future__ import annotations

from collections.abc import Sequence

from eltiketi_adapters.memory.clock import FixedClock
from eltiketi_adapters.memory.gateway import FakePaymentGateway
from eltiketi_adapters.memory.ids import TimeOrderedIds
from eltiketi_adapters.memory.notifier import RecordingNotifier
from eltiketi_adapters.memory.signer import HmacTicketSigner
from eltiketi_adapters.memory.state import MemoryStorage
from eltiketi_adapters.memory.uow import memory_uow_factory
from eltiketi_core.ports.clock import Clock, IdGenerator
from eltiketi_core.ports.notifications import Notifier
from eltiketi_core.ports.tickets import TicketSigner
from eltiketi_core.usecases.facade import Ticketing
from eltiketi_core.usecases.policy import Policy
from eltiketi_core.usecases.relay import InProcessBus, OutboxRelay


class InMemoryTicketing:
    """Every use case over in-memory adapters, plus the handles a test needs.

    ``core`` is the :class:`~eltiketi_core.usecases.Ticketing` facade; ``drain()``
    delivers every recorded event to the handlers (inventory, notifications,
    refunds, payment cancellation) the way the relay would.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        gateway: FakePaymentGateway | None = None,
        notifiers: Sequence[Notifier] | None = None,
        signer: TicketSigner | None = None,
        policy: Policy | None = None,
        storage: MemoryStorage | None = None,
    ) -> None:
        self.storage = storage or MemoryStorage()
        self.clock = clock or FixedClock()
        self.gateway = gateway or FakePaymentGateway()
        self.notifier = RecordingNotifier("email")
        self.notifiers = list(notifiers) if notifiers is not None else [self.notifier]
        self.uow = memory_uow_factory(self.storage)
        self.core = Ticketing(
            uow=self.uow,
            clock=self.clock,
            ids=ids or TimeOrderedIds(),
            gateway=self.gateway,
            signer=signer or HmacTicketSigner(),
            notifiers=self.notifiers,
            policy=policy,
        )
        self.bus = InProcessBus(self.core.handlers, backoff_seconds=0)
        self.relay = OutboxRelay(self.uow, self.bus, self.clock)

    async def drain(self) -> int:
        """Relay until the outbox is empty; returns how many events were delivered."""
        return await self.relay.drain()
