"""The hold-expiry sweeper: gives back stock whose hold ran out."""

from __future__ import annotations

from eltiketi_core.domain.booking import BookingStatus
from eltiketi_core.usecases.core_ports import CorePorts, UseCase
from eltiketi_core.usecases.holds import end_hold
from eltiketi_core.usecases.policy import Policy


class HoldSweeper(UseCase):
    """Releases expired holds in batches; several sweepers may run at once.

    ``claim_expired`` locks the rows it returns and skips rows others hold, and
    each release is a compare-and-set on ``held``, so a hold is released once.
    """

    def __init__(self, ports: CorePorts, policy: Policy) -> None:
        super().__init__(ports)
        self._policy = policy

    async def sweep(self) -> int:
        """Release every hold expired by now; returns how many."""
        released = 0
        while True:
            now = self._clock.now()
            async with self._uow() as uow:
                batch = await uow.bookings.claim_expired(now, limit=self._policy.sweep_batch)
                for booking in batch:
                    if await end_hold(uow, booking, BookingStatus.EXPIRED, self._ids, now):
                        released += 1
                await uow.commit()
            if len(batch) < self._policy.sweep_batch:
                return released
