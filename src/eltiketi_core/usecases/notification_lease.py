"""Holding claimed notifications while they are sent: a short lease, renewed in the background.

A sender claims messages with a lease token and an expiry (``Policy.notification_lease``,
15 s by default). While it sends, a :class:`LeaseKeeper` pushes the expiry forward every
third of the lease, so a slow SMTP server never makes a live send look abandoned; a crashed
process stops renewing, and its messages are due again within one lease.

The keeper also guards the other direction: if it cannot renew before the lease it last
wrote is about to run out (the database is unreachable or slow), it cancels the send in
progress and stops, because from then on another worker may take those messages. A message
is therefore never sent by two live workers at once. Expiry is judged by this process's
monotonic clock against the lease it wrote, with a safety margin of half a renewal period;
the expiry written to the database comes from the use case's clock, so the hosts' wall
clocks must agree to well within that margin (NTP does).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from datetime import timedelta
from types import TracebackType
from typing import Any, Self, TypeVar
from uuid import UUID

from eltiketi_core.ports.clock import Clock
from eltiketi_core.ports.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)

T = TypeVar("T")


class LeaseLost(Exception):
    """The lease could not be renewed in time; the send was stopped (it will be retried)."""


class LeaseKeeper:
    """Renews one claim's lease until the ``async with`` block ends.

    Args:
        uow: for the renewal transactions.
        clock: the time the lease's expiry is computed from.
        lease: the claim's token.
        length: how long each renewal holds the messages.
        claimed_at: ``loop.time()`` just before the claim was written, so the keeper
            never believes the first lease lasts longer than it does.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        lease: UUID,
        length: timedelta,
        *,
        claimed_at: float,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._lease = lease
        self._length = length
        self._seconds = length.total_seconds()
        self._period = self._seconds / 3
        self._expires = claimed_at + self._seconds
        self._task: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Future[Any]] = set()
        self.lost = False

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._keep(), name=f"notification-lease-{self._lease}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def guard(self, send: Awaitable[T]) -> T:
        """Run ``send`` (several may run at once); raise :class:`LeaseLost` if the lease is
        lost before it ends."""
        if self.lost:
            if asyncio.iscoroutine(send):
                send.close()
            raise LeaseLost
        sending = asyncio.ensure_future(send)
        self._sending.add(sending)
        try:
            return await sending
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self.lost and (current is None or not current.cancelling()):
                raise LeaseLost from None
            raise
        finally:
            self._sending.discard(sending)

    async def _keep(self) -> None:
        loop = asyncio.get_running_loop()
        margin = self._period / 2
        while True:
            await asyncio.sleep(self._period)
            started = loop.time()
            try:
                async with asyncio.timeout(max(self._expires - margin - started, 0)):
                    await self._renew()
                self._expires = started + self._seconds
            except Exception as error:
                log.warning(
                    "notification lease not renewed",
                    extra={"lease": str(self._lease), "error": repr(error)},
                )
            if loop.time() >= self._expires - margin:
                self._give_up()
                return

    async def _renew(self) -> None:
        async with self._uow() as uow:
            await uow.notifications.renew(self._lease, self._clock.now() + self._length)
            await uow.commit()

    def _give_up(self) -> None:
        log.error(
            "notification lease about to run out; stopping the send in progress",
            extra={"lease": str(self._lease)},
        )
        self.lost = True
        for sending in self._sending:
            sending.cancel()
