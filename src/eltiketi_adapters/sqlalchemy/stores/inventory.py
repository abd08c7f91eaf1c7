"""Stock counters: reservation that cannot oversell, on one row or on several shards.

Every change of ``held``/``sold`` is a conditional ``UPDATE`` whose ``WHERE``
clause carries the rule (``capacity - held - sold >= :q`` to take,
``held >= :q`` to give back), and its row count says whether it happened. A
value read earlier is never written back, so two transactions cannot both see
"one left" and both take it. The CHECK constraints of ``inventory_shards``
(``held >= 0``, ``sold >= 0``, ``held + sold <= capacity``) hold the line
should a bug ever try.

Reservation on a type with ``N`` shards (see ``docs/inventory.md``):

1. one conditional ``UPDATE`` of a random shard — on PostgreSQL a single
   statement that also inserts the allocation (``WITH taken AS (UPDATE …
   RETURNING) INSERT … SELECT FROM taken``), one round trip;
2. (PostgreSQL, ``N > 1``) an unlocked glance at the other shards, then a
   conditional ``UPDATE`` of each that looked big enough;
3. the deciding step: all the type's shards locked in ``shard_no`` order
   (``FOR UPDATE``, which waits for transactions holding them instead of
   guessing), then one shard that fits or pieces from several. If the locked
   shards together lack the quantity the answer is False — and on PostgreSQL
   the locks are dropped at once (the step runs in a savepoint that is rolled
   back), so a refused buyer does not make others queue.

On SQLite the write lock is taken at ``BEGIN IMMEDIATE``; nothing else can
change a counter during the transaction, so step 3 needs no row locks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Integer, delete, func, insert, literal, select, update

from eltiketi_adapters.sqlalchemy._tx import Tx
from eltiketi_adapters.sqlalchemy.models import (
    AllocationState,
    BookingAllocationRow,
    InventoryShardRow,
    TicketTypeRow,
)
from eltiketi_core.domain.catalog import StockLevel
from eltiketi_core.errors import ValidationFailed

logger = logging.getLogger(__name__)

Shard = InventoryShardRow
Allocation = BookingAllocationRow


class InventoryInvariantBroken(RuntimeError):
    """A conditional change that had to succeed (rows locked by us) did not: a bug."""


class SqlInventoryStore:
    """:class:`~eltiketi_core.ports.InventoryStore` over ``inventory_shards`` and
    ``booking_allocations``."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    # -- reserve -----------------------------------------------------------------------------

    async def reserve(self, booking_id: UUID, ticket_type_id: UUID, quantity: int) -> bool:
        if quantity < 1:
            raise ValidationFailed("invalid_quantity", "quantity must be at least 1")
        shards = await self._shard_count(ticket_type_id)
        if shards is None:
            return False
        first = self._tx.rng.randrange(shards)
        if await self._take(booking_id, ticket_type_id, first, quantity):
            return True
        if shards == 1:
            # The one conditional UPDATE waited for any transaction holding the row,
            # then found too little: a definitive answer.
            return False
        if self._tx.is_postgres and await self._take_elsewhere(
            booking_id, ticket_type_id, quantity, shards, first
        ):
            return True
        return await self._take_under_lock(booking_id, ticket_type_id, quantity, first)

    async def _take(
        self, booking_id: UUID, ticket_type_id: UUID, shard_no: int, quantity: int
    ) -> bool:
        """``held += quantity`` on one shard if it has that much, and record the allocation."""
        taken = (
            update(Shard)
            .where(
                Shard.ticket_type_id == ticket_type_id,
                Shard.shard_no == shard_no,
                Shard.capacity - Shard.held - Shard.sold >= quantity,
            )
            .values(held=Shard.held + quantity)
        )
        if self._tx.is_postgres:
            cte = taken.returning(Shard.ticket_type_id, Shard.shard_no).cte("taken")
            statement = (
                insert(Allocation)
                .from_select(
                    ["booking_id", "ticket_type_id", "shard_no", "quantity", "state"],
                    select(
                        literal(booking_id, Allocation.booking_id.type),
                        cte.c.ticket_type_id,
                        cte.c.shard_no,
                        literal(quantity, Integer),
                        literal(AllocationState.HELD.value, Allocation.state.type),
                    ),
                )
                .returning(Allocation.id)
            )
            return (await self._tx.first(statement)) is not None
        if (await self._tx.execute(taken)).rowcount != 1:
            return False
        await self._record(booking_id, ticket_type_id, shard_no, quantity, AllocationState.HELD)
        return True

    async def _take_elsewhere(
        self, booking_id: UUID, ticket_type_id: UUID, quantity: int, shards: int, tried: int
    ) -> bool:
        """Try, without locking them all, the other shards that look big enough."""
        looked = await self._available(ticket_type_id, lock=False)
        for shard_no in _rotation(shards, start=tried)[1:]:
            if looked.get(shard_no, 0) >= quantity and await self._take(
                booking_id, ticket_type_id, shard_no, quantity
            ):
                return True
        return False

    async def _take_under_lock(
        self, booking_id: UUID, ticket_type_id: UUID, quantity: int, start: int
    ) -> bool:
        """The deciding step: lock every shard of the type, then take or refuse for sure."""
        if not self._tx.is_postgres:
            return await self._take_from_locked(booking_id, ticket_type_id, quantity, start)
        savepoint = await self._tx.connection.begin_nested()
        try:
            taken = await self._take_from_locked(booking_id, ticket_type_id, quantity, start)
        except BaseException:
            await savepoint.rollback()
            raise
        if taken:
            await savepoint.commit()
        else:
            await savepoint.rollback()  # drops the shard locks a refusal took
        return taken

    async def _take_from_locked(
        self, booking_id: UUID, ticket_type_id: UUID, quantity: int, start: int
    ) -> bool:
        available = await self._available(ticket_type_id, lock=True)
        if sum(available.values()) < quantity:
            return False
        shards = len(available)
        whole = [s for s in _rotation(shards, start=start) if available.get(s, 0) >= quantity]
        if whole:
            plan = [(whole[0], quantity)]
        else:
            plan, remaining = [], quantity
            for shard_no in sorted(available):
                piece = min(remaining, available[shard_no])
                if piece > 0:
                    plan.append((shard_no, piece))
                    remaining -= piece
                if remaining == 0:
                    break
        for shard_no, piece in plan:
            if not await self._take(booking_id, ticket_type_id, shard_no, piece):
                raise InventoryInvariantBroken(
                    f"shard {shard_no} of {ticket_type_id} refused {piece} while locked"
                )
        if len(plan) > 1:
            logger.info(
                "reservation split over shards",
                extra={"ticket_type_id": str(ticket_type_id), "pieces": plan},
            )
        return True

    async def _available(self, ticket_type_id: UUID, *, lock: bool) -> dict[int, int]:
        query = (
            select(Shard.shard_no, Shard.capacity - Shard.held - Shard.sold)
            .where(Shard.ticket_type_id == ticket_type_id)
            .order_by(Shard.shard_no)
        )
        if lock and self._tx.is_postgres:
            # FOR NO KEY UPDATE: the lock our UPDATEs take anyway, so it does not
            # also block the foreign-key checks of allocation inserts.
            query = query.with_for_update(key_share=True)
        return {row[0]: row[1] for row in await self._tx.rows(query)}

    async def _shard_count(self, ticket_type_id: UUID) -> int | None:
        cached = self._tx.shard_counts.get(ticket_type_id)
        if cached is not None:
            return cached
        row = await self._tx.first(
            select(TicketTypeRow.shards).where(TicketTypeRow.id == ticket_type_id)
        )
        if row is None:
            return None
        self._tx.shard_counts.put(ticket_type_id, row[0])
        return int(row[0])

    # -- release / sell / unsell -------------------------------------------------------------

    async def release(self, booking_id: UUID, ticket_type_id: UUID, quantity: int) -> None:
        await self._move(
            booking_id, ticket_type_id, quantity, AllocationState.HELD, None, held=-1, sold=0
        )

    async def sell(self, booking_id: UUID, ticket_type_id: UUID, quantity: int) -> None:
        await self._move(
            booking_id,
            ticket_type_id,
            quantity,
            AllocationState.HELD,
            AllocationState.SOLD,
            held=-1,
            sold=+1,
        )

    async def unsell(self, booking_id: UUID, ticket_type_id: UUID, quantity: int) -> None:
        await self._move(
            booking_id, ticket_type_id, quantity, AllocationState.SOLD, None, held=0, sold=-1
        )

    async def _move(
        self,
        booking_id: UUID,
        ticket_type_id: UUID,
        quantity: int,
        source: AllocationState,
        target: AllocationState | None,
        *,
        held: int,
        sold: int,
    ) -> None:
        """Move ``quantity`` of the booking's ``source`` allocations to ``target``
        (``None``: back to the pool), adjusting each shard they came from.

        Shards are visited in ``shard_no`` order, the same order every
        transaction locks them in, so two of them cannot deadlock.
        """
        allocations = await self._tx.rows(
            select(Allocation.id, Allocation.shard_no, Allocation.quantity)
            .where(
                Allocation.booking_id == booking_id,
                Allocation.ticket_type_id == ticket_type_id,
                Allocation.state == source.value,
            )
            .order_by(Allocation.shard_no, Allocation.id)
        )
        remaining = quantity
        for allocation_id, shard_no, allocated in allocations:
            if remaining == 0:
                break
            piece = min(remaining, allocated)
            await self._adjust_shard(ticket_type_id, shard_no, piece, held=held, sold=sold)
            if piece == allocated:
                if target is None:
                    await self._tx.execute(delete(Allocation).where(Allocation.id == allocation_id))
                else:
                    await self._tx.execute(
                        update(Allocation)
                        .where(Allocation.id == allocation_id)
                        .values(state=target.value)
                    )
            else:
                await self._tx.execute(
                    update(Allocation)
                    .where(Allocation.id == allocation_id)
                    .values(quantity=Allocation.quantity - piece)
                )
                if target is not None:
                    await self._record(booking_id, ticket_type_id, shard_no, piece, target)
            remaining -= piece
        if remaining:
            # Stock this booking never took from these shards is not ours to give back.
            logger.warning(
                "inventory move larger than the booking's allocations",
                extra={
                    "booking_id": str(booking_id),
                    "ticket_type_id": str(ticket_type_id),
                    "state": source.value,
                    "requested": quantity,
                    "missing": remaining,
                },
            )

    async def _adjust_shard(
        self, ticket_type_id: UUID, shard_no: int, piece: int, *, held: int, sold: int
    ) -> None:
        conditions: list[Any] = [Shard.ticket_type_id == ticket_type_id, Shard.shard_no == shard_no]
        values: dict[str, Any] = {}
        if held:
            values["held"] = Shard.held + held * piece
            if held < 0:
                conditions.append(Shard.held >= piece)
        if sold:
            values["sold"] = Shard.sold + sold * piece
            if sold < 0:
                conditions.append(Shard.sold >= piece)
        result = await self._tx.execute(update(Shard).where(*conditions).values(**values))
        if result.rowcount != 1:
            raise InventoryInvariantBroken(
                f"shard {shard_no} of {ticket_type_id} cannot give back {piece}"
            )

    async def _record(
        self,
        booking_id: UUID,
        ticket_type_id: UUID,
        shard_no: int,
        quantity: int,
        state: AllocationState,
    ) -> None:
        await self._tx.execute(
            insert(Allocation).values(
                booking_id=booking_id,
                ticket_type_id=ticket_type_id,
                shard_no=shard_no,
                quantity=quantity,
                state=state.value,
            )
        )

    # -- reading ------------------------------------------------------------------------------

    async def levels(self, ticket_type_ids: Sequence[UUID]) -> dict[UUID, StockLevel]:
        if not ticket_type_ids:
            return {}
        rows = await self._tx.rows(
            select(
                Shard.ticket_type_id,
                func.sum(Shard.capacity),
                func.sum(Shard.held),
                func.sum(Shard.sold),
            )
            .where(Shard.ticket_type_id.in_(list(dict.fromkeys(ticket_type_ids))))
            .group_by(Shard.ticket_type_id)
        )
        return {
            row[0]: StockLevel(
                ticket_type_id=row[0], capacity=int(row[1]), held=int(row[2]), sold=int(row[3])
            )
            for row in rows
        }

    async def shard_levels(self, ticket_type_id: UUID) -> list[StockLevel]:
        """Counters of each shard, in ``shard_no`` order (operations and tests)."""
        rows = await self._tx.rows(
            select(Shard.capacity, Shard.held, Shard.sold)
            .where(Shard.ticket_type_id == ticket_type_id)
            .order_by(Shard.shard_no)
        )
        return [
            StockLevel(ticket_type_id=ticket_type_id, capacity=c, held=h, sold=s)
            for c, h, s in rows
        ]


def _rotation(size: int, *, start: int) -> list[int]:
    """``start, start+1, …`` wrapping around: every shard once, beginning at ``start``."""
    return [(start + offset) % size for offset in range(size)]
