"""Scheduled pruning of the bookkeeping tables that grow forever otherwise."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import msgspec

from eltiketi_core.ports.uow import UnitOfWorkFactory

logger = logging.getLogger(__name__)


class PruneResult(msgspec.Struct, frozen=True, kw_only=True):
    """How many rows each table lost."""

    outbox: int
    inbox: int
    idempotency: int


async def prune(
    uow_factory: UnitOfWorkFactory,
    now: datetime,
    *,
    outbox_days: float = 7,
    inbox_days: float = 30,
    idempotency_hours: float = 24,
) -> PruneResult:
    """Delete published outbox rows, old inbox rows and expired idempotency keys.

    Each table is pruned in its own short transaction. Keep ``inbox_days``
    longer than the longest time a message can be redelivered (bus retention,
    consumer lag): an event id that has left the inbox would be processed again.
    ``idempotency_hours`` is the ``Idempotency-Key`` lifetime promised to
    clients (24 h). ``now`` comes from the clock port.
    """
    async with uow_factory() as uow:
        outbox = await uow.outbox.prune(now - timedelta(days=outbox_days))
        await uow.commit()
    async with uow_factory() as uow:
        inbox = await uow.inbox.prune(now - timedelta(days=inbox_days))
        await uow.commit()
    async with uow_factory() as uow:
        idempotency = await uow.idempotency.prune(now - timedelta(hours=idempotency_hours))
        await uow.commit()
    result = PruneResult(outbox=outbox, inbox=inbox, idempotency=idempotency)
    logger.info("pruned", extra=msgspec.structs.asdict(result))
    return result
