"""Stock counters: reservation that cannot oversell, on one row or on several shards.

Every change of ``held``/``sold`` is a conditional ``UPDATE`` whose ``WHERE``
clause carries the rule (``capacity - held - sold >= :q`` to take,
``held >= :q`` to give back), and its row count says whether it happened. A
value read earlier is never written back, so two transactions cannot both see
"one left" and both take it. The CHECK constraints of ``inventory_shards``
(``held >= 0``, ``sold >= 0``, ``held + sold <= capacity``) hold the line
should a bug ever try.

Reservation (see ``docs/inventory.md`` for the why):

* **one shard** — one conditional ``UPDATE``, which on PostgreSQL also inserts
  the allocation in the same statement (``WITH taken AS (UPDATE … RETURNING)
  INSERT … SELECT FROM taken``): one round trip. It waits for a transaction
  holding the row, then re-checks, so False is definitive.
* **N shards, PostgreSQL** — inside a savepoint, one statement picks the first
  shard, in rotation from a random start, that has the quantity and is not
  locked by another buyer (``FOR NO KEY UPDATE SKIP LOCKED``), takes from it
  with the same conditional ``UPDATE``, records the allocation, and reports
  the type's committed stock. If nothing was taken the savepoint is rolled
  back (PostgreSQL keeps the lock of a row whose re-check failed; the rollback
  drops it). Too little committed stock: refused, the rule of the one-row
  ``UPDATE``. Every shard that fits busy: the buyer queues behind one holder
  (the first such shard in its rotation) with the conditional ``UPDATE``, in a
  savepoint. Still nothing: the deciding step runs in a new savepoint: the shards
  that have stock locked in ``shard_no`` order — waiting for their holders —
  then one shard that fits, or pieces from several, or a refusal (rolled
  back, so a refused buyer makes nobody queue).
* **N shards, SQLite** — the write lock is taken at ``BEGIN IMMEDIATE``; no
  other writer exists during the transaction, so a random shard is tried and
  then the deciding step reads the shards directly.

Lock order: types in ticket-type-id order (the core sorts items), shards of a
type in ``shard_no`` order; a transaction only *waits* for a shard above every
shard it may already hold (:attr:`Tx.highest_shard_lock`), which rules out a
cycle of waiters.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Integer, bindparam, delete, func, insert, select, true, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID

from eltiketi_adapters.sqlalchemy._tx import Tx
from eltiketi_adapters.sqlalchemy.models import (
    AllocationState,
    BookingAllocationRow,
    InventoryShardRow,
    TicketTypeRow,
)
from eltiketi_adapters.sqlalchemy.positional import positional
from eltiketi_adapters.sqlalchemy.stores.catalog import split_capacity
from eltiketi_core.domain.catalog import StockLevel
from eltiketi_core.errors import InventoryInvariantError

logger = logging.getLogger(__name__)

Shard = InventoryShardRow
Allocation = BookingAllocationRow


# Statements are built once: building one and its cache key costs more CPU than running it.
_left = Shard.capacity - Shard.held - Shard.sold
_ALLOCATION_COLUMNS = ["booking_id", "ticket_type_id", "shard_no", "quantity", "state"]


def _allocation_of(taken: Any, *, many: bool = False) -> Any:
    """``INSERT INTO booking_allocations`` of the held allocation for the row ``taken``
    changed: for ``p_booking_id`` and ``p_quantity``, or (``many``, a group commit) one
    per booking of the parallel arrays ``p_booking_ids`` and ``p_quantities``."""
    held = bindparam("p_held", AllocationState.HELD.value, type_=Allocation.state.type)
    if not many:
        return insert(Allocation).from_select(
            _ALLOCATION_COLUMNS,
            select(
                bindparam("p_booking_id", type_=Allocation.booking_id.type),
                taken.c.ticket_type_id,
                taken.c.shard_no,
                bindparam("p_quantity", type_=Integer),
                held,
            ),
        )
    wants = (
        func.unnest(
            bindparam("p_booking_ids", type_=ARRAY(PG_UUID(as_uuid=True))),
            bindparam("p_quantities", type_=ARRAY(Integer)),
        )
        .table_valued("booking_id", "quantity")
        .render_derived(name="want")
    )
    return insert(Allocation).from_select(
        _ALLOCATION_COLUMNS,
        select(
            wants.c.booking_id, taken.c.ticket_type_id, taken.c.shard_no, wants.c.quantity, held
        ).select_from(taken.join(wants, true())),
    )


_TAKE = (
    update(Shard)
    .where(
        Shard.ticket_type_id == bindparam("p_type_id"),
        Shard.shard_no == bindparam("p_shard_no"),
        _left >= bindparam("p_quantity", type_=Integer),
    )
    .values(held=Shard.held + bindparam("p_quantity", type_=Integer))
)
#: PostgreSQL: the conditional UPDATE and the allocation it pays for, in one statement.
_TAKE_AND_RECORD = _allocation_of(
    _TAKE.returning(Shard.ticket_type_id, Shard.shard_no).cte("taken")
).returning(Allocation.shard_no)


def _take_for_many_statement() -> Any:
    """PostgreSQL, a group commit: ``held += p_quantity`` (the sum) on one shard if it has
    that much, and one allocation per booking, in one statement."""
    taken = _TAKE.returning(Shard.ticket_type_id, Shard.shard_no).cte("taken")
    return _allocation_of(taken, many=True).returning(Allocation.shard_no)


_TAKE_FOR_MANY = _take_for_many_statement()
#: The hold path's takes, for ``Tx.fetch_direct`` (one shard: the hot row).
_TAKE_AND_RECORD_PG = positional(_TAKE_AND_RECORD)
_TAKE_FOR_MANY_PG = positional(_TAKE_FOR_MANY)
#: The stock of some types, shard by shard, for a careful group commit; with the
#: PostgreSQL lock, in (type, shard) order, only shards with committed stock.
_STOCK_OF = (
    select(Shard.ticket_type_id, Shard.shard_no, _left)
    .where(Shard.ticket_type_id.in_(bindparam("p_type_ids", expanding=True)), _left > 0)
    .order_by(Shard.ticket_type_id, Shard.shard_no)
)
_STOCK_OF_LOCKED = _STOCK_OF.with_for_update(key_share=True)
#: The shards of one type with stock, for spreading a batch over them: on PostgreSQL
#: those no one else holds, locked (``SKIP LOCKED``: never waits).
_FREE_STOCK_OF = (
    select(Shard.shard_no, _left)
    .where(Shard.ticket_type_id == bindparam("p_type_id"), _left > 0)
    .order_by(Shard.shard_no)
)
_FREE_STOCK_OF_LOCKED = _FREE_STOCK_OF.with_for_update(key_share=True, skip_locked=True)


def _take_free_shard_statement(*, many: bool = False) -> Any:
    """See :meth:`SqlInventoryStore._take_free_shard` (``many``: the sum of a group
    commit's bookings from one shard, an allocation for each)."""
    shards = bindparam("p_shards", type_=Integer)
    rotation = (Shard.shard_no + (shards - bindparam("p_start", type_=Integer))) % shards
    fits = (
        select(Shard.ticket_type_id, Shard.shard_no)
        .where(
            Shard.ticket_type_id == bindparam("p_type_id"),
            _left >= bindparam("p_quantity", type_=Integer),
        )
        .order_by(rotation)
        .limit(1)
    )
    pick = fits.with_for_update(skip_locked=True, key_share=True).cte("pick")
    # The first shard whose committed stock fits, locked or not: whom to wait for if
    # every such shard is busy (this transaction's snapshot, no lock taken).
    busy = fits.with_only_columns(Shard.shard_no).scalar_subquery()
    taken = (
        update(Shard)
        .where(
            Shard.ticket_type_id == pick.c.ticket_type_id,
            Shard.shard_no == pick.c.shard_no,
            _left >= bindparam("p_quantity", type_=Integer),
        )
        .values(held=Shard.held + bindparam("p_quantity", type_=Integer))
        .returning(Shard.ticket_type_id, Shard.shard_no)
        .cte("taken")
    )
    recorded = _allocation_of(taken, many=many).returning(Allocation.shard_no).cte("recorded")
    committed = (
        select(func.coalesce(func.sum(_left), 0))
        .where(Shard.ticket_type_id == bindparam("p_type_id"), _left > 0)
        .scalar_subquery()
    )
    return select(select(func.min(recorded.c.shard_no)).scalar_subquery(), committed, busy)


_TAKE_FREE_SHARD = _take_free_shard_statement()
_TAKE_FREE_SHARD_FOR_MANY = _take_free_shard_statement(many=True)
_RECORD = insert(Allocation)
_ALLOCATIONS = (
    select(Allocation.id, Allocation.shard_no, Allocation.quantity)
    .where(
        Allocation.booking_id == bindparam("p_booking_id"),
        Allocation.ticket_type_id == bindparam("p_type_id"),
        Allocation.state == bindparam("p_state"),
    )
    .order_by(Allocation.shard_no, Allocation.id)
)
_LEVELS = (
    select(
        Shard.ticket_type_id, func.sum(Shard.capacity), func.sum(Shard.held), func.sum(Shard.sold)
    )
    .where(Shard.ticket_type_id.in_(bindparam("p_type_ids", expanding=True)))
    .group_by(Shard.ticket_type_id)
)
#: A capacity change of one shard, conditional on what the shard has handed out.
_SET_SHARD_CAPACITY = (
    update(Shard)
    .where(
        Shard.ticket_type_id == bindparam("p_type_id"),
        Shard.shard_no == bindparam("p_shard_no"),
        Shard.held + Shard.sold <= bindparam("p_capacity", type_=Integer),
    )
    .values(capacity=bindparam("p_capacity", type_=Integer))
)
#: The shards of a type, locked in ``shard_no`` order (the order every transaction uses).
_SHARDS_FOR_CHANGE = (
    select(Shard.shard_no, Shard.held + Shard.sold)
    .where(Shard.ticket_type_id == bindparam("p_type_id"))
    .order_by(Shard.shard_no)
)
_SHARDS_FOR_CHANGE_LOCKED = _SHARDS_FOR_CHANGE.with_for_update(key_share=True)
_SET_TYPE_CAPACITY = (
    update(TicketTypeRow)
    .where(TicketTypeRow.id == bindparam("p_type_id"))
    .values(capacity=bindparam("p_capacity", type_=Integer))
)
_DELETE_ALLOCATION = delete(Allocation).where(Allocation.id == bindparam("p_id"))
_RESTATE_ALLOCATION = (
    update(Allocation).where(Allocation.id == bindparam("p_id")).values(state=bindparam("p_state"))
)
_SHRINK_ALLOCATION = (
    update(Allocation)
    .where(Allocation.id == bindparam("p_id"))
    .values(quantity=Allocation.quantity - bindparam("p_piece", type_=Integer))
)


def _adjust_statement(*, held: int, sold: int) -> Any:
    """``held``/``sold`` += sign × piece on one shard, never below zero."""
    piece = bindparam("p_piece", type_=Integer)
    conditions: list[Any] = [
        Shard.ticket_type_id == bindparam("p_type_id"),
        Shard.shard_no == bindparam("p_shard_no"),
    ]
    values: dict[str, Any] = {}
    if held:
        values["held"] = Shard.held + held * piece
        if held < 0:
            conditions.append(Shard.held >= piece)
    if sold:
        values["sold"] = Shard.sold + sold * piece
        if sold < 0:
            conditions.append(Shard.sold >= piece)
    return update(Shard).where(*conditions).values(**values)


#: (held sign, sold sign) -> statement: release (-1, 0), sell (-1, +1), unsell (0, -1).
_ADJUST = {
    (held, sold): _adjust_statement(held=held, sold=sold)
    for held, sold in ((-1, 0), (-1, +1), (0, -1))
}
#: Moving a booking's stock (the sale after payment, a release, an unsell), for
#: ``Tx.fetch_direct``: an adjustment returns the shard it changed instead of a rowcount.
_ALLOCATIONS_PG = positional(_ALLOCATIONS)
_RESTATE_ALLOCATION_PG = positional(_RESTATE_ALLOCATION)
_ADJUST_PG = {
    signs: positional(statement.returning(Shard.shard_no)) for signs, statement in _ADJUST.items()
}


class SqlInventoryStore:
    """:class:`~eltiketi_core.ports.InventoryStore` over ``inventory_shards`` and
    ``booking_allocations``."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    # -- reserve -----------------------------------------------------------------------------

    async def reserve(self, booking_id: UUID, ticket_type_id: UUID, quantity: int) -> bool:
        shards = await self._shard_count(ticket_type_id)
        if shards is None or quantity < 1:
            return False
        start = random.randrange(shards)  # spreads buyers over the shards; not a secret
        if shards == 1 or not self._tx.is_postgres:
            self._tx.note_shard_lock(ticket_type_id, start)
            if await self._take(booking_id, ticket_type_id, start, quantity):
                return True
            if shards == 1:
                # The conditional UPDATE waited for any transaction holding the row,
                # then found too little: a definitive answer.
                return False
            return await self._take_from_locked(booking_id, ticket_type_id, quantity, start)
        shard_no, committed, busy = await self._tx.in_savepoint(
            lambda: self._take_free_shard(booking_id, ticket_type_id, quantity, start, shards),
            keep=lambda picked: picked[0] is not None,
        )
        if shard_no is not None:
            # SKIP LOCKED never waits, but it may keep locks on shards it passed over.
            self._tx.note_shard_lock(ticket_type_id, shards - 1)
            return True
        if committed < quantity:
            # The rule of a single conditional UPDATE: committed stock too small, refused.
            return False
        if busy is not None and await self._wait_for_busy_shard(
            booking_id, ticket_type_id, busy, quantity
        ):
            return True
        # A refusal rolls back: the shard locks it took go at once.
        return await self._tx.in_savepoint(
            lambda: self._take_from_locked(booking_id, ticket_type_id, quantity, start),
            keep=bool,
        )

    async def take(self, ticket_type_id: UUID, takes: Sequence[tuple[UUID, int]]) -> bool:
        """The sum from one shard, with an allocation per booking: on one shard one
        conditional ``UPDATE`` (the allocations in the same statement on PostgreSQL); on
        several, PostgreSQL's free-shard pick for the sum (``SKIP LOCKED``, in a
        savepoint), SQLite's random shard. If no one shard has the sum, the bookings are
        spread over the free shards (:meth:`_take_spread`); if those cannot hold them all,
        nothing is taken (False) — never waiting for a busy shard of a type this
        transaction already holds shards of. After :meth:`lock_available` every shard
        with stock is ours, so a take within it always fits."""
        shards = await self._shard_count(ticket_type_id)
        if shards is None or not takes or any(quantity < 1 for _, quantity in takes):
            return False
        total = sum(quantity for _, quantity in takes)
        if len(takes) == 1 and shards > 1:
            return await self.reserve(takes[0][0], ticket_type_id, total)
        if await self._take_sum(ticket_type_id, takes, total, shards):
            return True
        if shards == 1:
            return False  # the conditional UPDATE waited for the row's holder: definitive
        placed, left_over = await self._take_spread(ticket_type_id, takes)
        if left_over:
            # The free shards cannot hold them all. Waiting here for a busy shard could
            # close a cycle (this transaction already holds shards of the type), so give
            # back and refuse: the batch runs again carefully, locking every shard with
            # stock first, in order (lock_available), and then every take fits.
            for taken_for, taken in reversed(placed):
                await self.release(taken_for, ticket_type_id, taken)
            return False
        return True

    async def _take_spread(
        self, ticket_type_id: UUID, takes: Sequence[tuple[UUID, int]]
    ) -> tuple[list[tuple[UUID, int]], list[tuple[UUID, int]]]:
        """No one shard has the batch's sum: spread its bookings over the shards that are
        free now (on PostgreSQL locked with ``SKIP LOCKED``, so nobody is waited for),
        each booking whole in the first shard that has room from a random start, else in
        pieces — one conditional ``UPDATE`` per shard and one multi-row ``INSERT`` of
        the allocations. Returns the bookings placed and, in order, those the free
        shards could not hold."""
        statement = _FREE_STOCK_OF_LOCKED if self._tx.is_postgres else _FREE_STOCK_OF
        rows = await self._tx.rows(statement, {"p_type_id": ticket_type_id})
        left = {int(shard_no): int(available) for shard_no, available in rows}
        if not left:
            return [], list(takes)
        self._tx.note_shard_lock(ticket_type_id, max(left))
        order = sorted(left)
        start = random.randrange(len(order))
        rotation = order[start:] + order[:start]
        pieces: list[tuple[UUID, int, int]] = []
        placed: list[tuple[UUID, int]] = []
        left_over: list[tuple[UUID, int]] = []
        for booking_id, quantity in takes:
            whole = next((n for n in rotation if left[n] >= quantity), None)
            if whole is not None:
                plan = [(whole, quantity)]
            elif sum(left.values()) >= quantity:
                plan, remaining = [], quantity
                for shard_no in order:
                    piece = min(remaining, left[shard_no])
                    if piece > 0:
                        plan.append((shard_no, piece))
                        remaining -= piece
            else:
                left_over.append((booking_id, quantity))
                continue
            for shard_no, piece in plan:
                left[shard_no] -= piece
                pieces.append((booking_id, shard_no, piece))
            placed.append((booking_id, quantity))
        per_shard: dict[int, int] = {}
        for _, shard_no, piece in pieces:
            per_shard[shard_no] = per_shard.get(shard_no, 0) + piece
        for shard_no in sorted(per_shard):
            taken = await self._tx.execute(
                _TAKE,
                {
                    "p_type_id": ticket_type_id,
                    "p_shard_no": shard_no,
                    "p_quantity": per_shard[shard_no],
                },
            )
            if taken.rowcount != 1:
                raise InventoryInvariantError(
                    f"shard {shard_no} of {ticket_type_id} refused {per_shard[shard_no]} while locked"
                )
        if pieces:
            await self._tx.execute(
                _RECORD,
                [
                    {
                        "booking_id": booking_id,
                        "ticket_type_id": ticket_type_id,
                        "shard_no": shard_no,
                        "quantity": piece,
                        "state": AllocationState.HELD.value,
                    }
                    for booking_id, shard_no, piece in pieces
                ],
            )
        return placed, left_over

    async def _take_sum(
        self, ticket_type_id: UUID, takes: Sequence[tuple[UUID, int]], total: int, shards: int
    ) -> bool:
        start = random.randrange(shards)  # spreads batches over the shards; not a secret
        params: dict[str, Any] = {
            "p_type_id": ticket_type_id,
            "p_quantity": total,
            "p_booking_ids": [booking_id for booking_id, _ in takes],
            "p_quantities": [quantity for _, quantity in takes],
        }
        if not self._tx.is_postgres:
            self._tx.note_shard_lock(ticket_type_id, start)
            taken = await self._tx.execute(_TAKE, {**params, "p_shard_no": start})
            if taken.rowcount != 1:
                return False
            await self._tx.execute(
                _RECORD,
                [
                    {
                        "booking_id": booking_id,
                        "ticket_type_id": ticket_type_id,
                        "shard_no": start,
                        "quantity": quantity,
                        "state": AllocationState.HELD.value,
                    }
                    for booking_id, quantity in takes
                ],
            )
            return True
        if shards == 1:
            self._tx.note_shard_lock(ticket_type_id, 0)
            return bool(await self._tx.fetch_direct(_TAKE_FOR_MANY_PG, {**params, "p_shard_no": 0}))

        async def pick() -> Any:
            return await self._tx.first(
                _TAKE_FREE_SHARD_FOR_MANY, {**params, "p_start": start, "p_shards": shards}
            )

        row = await self._tx.in_savepoint(pick, keep=lambda r: r is not None and r[0] is not None)
        if row is None or row[0] is None:
            return False
        self._tx.note_shard_lock(ticket_type_id, shards - 1)
        return True

    async def lock_available(self, ticket_type_ids: Sequence[UUID]) -> dict[UUID, int]:
        """The shards with stock, locked in (type, shard) order on PostgreSQL — waiting
        for their holders, then re-read; an empty shard is not waited for."""
        wanted = sorted(set(ticket_type_ids))
        left = {t: 0 for t in wanted if await self._shard_count(t) is not None}
        if not left:
            return {}
        statement = _STOCK_OF_LOCKED if self._tx.is_postgres else _STOCK_OF
        rows = await self._tx.rows(statement, {"p_type_ids": list(left)})
        for type_id, shard_no, available in rows:
            left[type_id] += int(available)
            self._tx.note_shard_lock(type_id, int(shard_no))
        return left

    async def _take(
        self, booking_id: UUID, ticket_type_id: UUID, shard_no: int, quantity: int
    ) -> bool:
        """``held += quantity`` on one shard if it has that much, and record the allocation."""
        params = {
            "p_booking_id": booking_id,
            "p_type_id": ticket_type_id,
            "p_shard_no": shard_no,
            "p_quantity": quantity,
        }
        if self._tx.is_postgres:
            return bool(await self._tx.fetch_direct(_TAKE_AND_RECORD_PG, params))
        if (await self._tx.execute(_TAKE, params)).rowcount != 1:
            return False
        await self._record(booking_id, ticket_type_id, shard_no, quantity, AllocationState.HELD)
        return True

    async def _wait_for_busy_shard(
        self, booking_id: UUID, ticket_type_id: UUID, shard_no: int, quantity: int
    ) -> bool:
        """Every shard that fits is held by another buyer: queue behind the holder of
        one of them (the first in this buyer's rotation), not of all.

        The conditional ``UPDATE`` waits for that holder and re-checks. Locking every
        shard instead (the deciding step) would make each waiting buyer hold all of
        them, and the next buyers would then find no free shard either: a convoy
        that turns N shards back into one. A failed re-check may keep the row's lock,
        hence the savepoint; the deciding step follows.
        """
        if (held := self._tx.highest_shard_lock) is not None and held >= (
            ticket_type_id,
            shard_no,
        ):
            return False  # waiting there could close a cycle of waiters
        taken = await self._tx.in_savepoint(
            lambda: self._take(booking_id, ticket_type_id, shard_no, quantity), keep=bool
        )
        if taken:
            self._tx.note_shard_lock(ticket_type_id, shard_no)
        return taken

    async def _take_free_shard(
        self, booking_id: UUID, ticket_type_id: UUID, quantity: int, start: int, shards: int
    ) -> tuple[int | None, int, int | None]:
        """PostgreSQL, one statement: the first unlocked shard (rotating from ``start``)
        with ``quantity`` left is locked, decremented and allocated — or nothing happens.

        Returns the shard taken from (None: none), the type's committed stock as the
        statement saw it before taking, and the first shard in the rotation whose
        committed stock fits, locked or not (None: none fits on its own).
        """
        row = await self._tx.first(
            _TAKE_FREE_SHARD,
            {
                "p_booking_id": booking_id,
                "p_type_id": ticket_type_id,
                "p_quantity": quantity,
                "p_start": start,
                "p_shards": shards,
            },
        )
        if row is None:  # pragma: no cover - a SELECT of scalars always has a row
            return None, 0, None
        taken, committed, busy = row
        return (
            None if taken is None else int(taken),
            int(committed),
            None if busy is None else int(busy),
        )

    async def _take_from_locked(
        self, booking_id: UUID, ticket_type_id: UUID, quantity: int, start: int
    ) -> bool:
        """The deciding step: lock every shard of the type, then take or refuse for sure."""
        available = await self._available(ticket_type_id, lock=True)
        if sum(available.values()) < quantity:
            return False
        # a shard that fits, the first at or after the random start (then wrapping round)
        whole = sorted(
            (s for s, left in available.items() if left >= quantity), key=lambda s: (s < start, s)
        )
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
                raise InventoryInvariantError(
                    f"shard {shard_no} of {ticket_type_id} refused {piece} while locked"
                )
        if len(plan) > 1:
            logger.info(
                "reservation split over shards",
                extra={"ticket_type_id": str(ticket_type_id), "pieces": plan},
            )
        return True

    async def _available(self, ticket_type_id: UUID, *, lock: bool) -> dict[int, int]:
        """shard_no -> tickets left, for the shards that have any.

        With ``lock`` (PostgreSQL) those shards are locked in ``shard_no`` order,
        waiting for transactions that hold them, and re-read once free. A shard
        whose committed state is empty is not waited for — the same rule a
        single conditional ``UPDATE`` follows — so once a type is sold out,
        refusals are answered at once instead of queueing on every shard.
        """
        available = Shard.capacity - Shard.held - Shard.sold
        query = (
            select(Shard.shard_no, available)
            .where(Shard.ticket_type_id == ticket_type_id, available > 0)
            .order_by(Shard.shard_no)
        )
        if lock and self._tx.is_postgres:
            # FOR NO KEY UPDATE: the lock our UPDATEs take anyway, so it does not
            # also block the foreign-key checks of allocation inserts.
            query = query.with_for_update(key_share=True)
            if rows_hint := self._tx.shard_counts.get(ticket_type_id):
                self._tx.note_shard_lock(ticket_type_id, rows_hint - 1)
        return {row[0]: row[1] for row in await self._tx.rows(query) if row[1] > 0}

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
        of_booking = {
            "p_booking_id": booking_id,
            "p_type_id": ticket_type_id,
            "p_state": source.value,
        }
        allocations: Sequence[Any] = (
            await self._tx.fetch_direct(_ALLOCATIONS_PG, of_booking)
            if self._tx.is_postgres
            else await self._tx.rows(_ALLOCATIONS, of_booking)
        )
        if sum(allocated for _, _, allocated in allocations) < quantity:
            # Stock this booking never took is not its to give back: a caller's bug,
            # refused before anything changes (the in-memory adapter refuses it too).
            raise InventoryInvariantError(
                f"booking {booking_id} has fewer than {quantity} of {ticket_type_id} {source.value}"
            )
        remaining = quantity
        pieces: list[tuple[int, int]] = []
        for allocation_id, shard_no, allocated in allocations:
            if remaining == 0:
                break
            piece = min(remaining, allocated)
            if piece == allocated:
                if target is None:
                    await self._tx.execute(_DELETE_ALLOCATION, {"p_id": allocation_id})
                else:
                    restate = {"p_id": allocation_id, "p_state": target.value}
                    if self._tx.is_postgres:
                        await self._tx.fetch_direct(_RESTATE_ALLOCATION_PG, restate)
                    else:
                        await self._tx.execute(_RESTATE_ALLOCATION, restate)
            else:
                await self._tx.execute(
                    _SHRINK_ALLOCATION, {"p_id": allocation_id, "p_piece": piece}
                )
                if target is not None:
                    await self._record(booking_id, ticket_type_id, shard_no, piece, target)
            pieces.append((shard_no, piece))
            remaining -= piece
        # The shards last: their rows are what concurrent buyers queue on, and a row
        # lock lasts until the commit, so nothing of ours should run after it but that.
        for shard_no, piece in pieces:
            await self._adjust_shard(ticket_type_id, shard_no, piece, held=held, sold=sold)

    async def _adjust_shard(
        self, ticket_type_id: UUID, shard_no: int, piece: int, *, held: int, sold: int
    ) -> None:
        self._tx.note_shard_lock(ticket_type_id, shard_no)
        params = {"p_type_id": ticket_type_id, "p_shard_no": shard_no, "p_piece": piece}
        if not await self._tx.changed_one(_ADJUST[(held, sold)], _ADJUST_PG[(held, sold)], params):
            raise InventoryInvariantError(
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
            _RECORD,
            {
                "booking_id": booking_id,
                "ticket_type_id": ticket_type_id,
                "shard_no": shard_no,
                "quantity": quantity,
                "state": state.value,
            },
        )

    # -- capacity -----------------------------------------------------------------------------

    async def set_capacity(self, ticket_type_id: UUID, capacity: int) -> bool:
        """One shard: a single conditional ``UPDATE`` (``held + sold <= :capacity``).

        N shards: their rows are locked in ``shard_no`` order (waiting for buyers that
        hold one, like the deciding step of a reservation), then each gets what it has
        handed out plus an even share of the free stock, each with the same conditional
        ``UPDATE`` — which cannot fail while the rows are ours. Too little: nothing
        changes. The type's row follows in the same transaction.
        """
        shards = await self._shard_count(ticket_type_id)
        if shards is None or capacity < 0:
            return False
        if shards == 1:
            self._tx.note_shard_lock(ticket_type_id, 0)
            changed = await self._tx.execute(
                _SET_SHARD_CAPACITY,
                {"p_type_id": ticket_type_id, "p_shard_no": 0, "p_capacity": capacity},
            )
            if changed.rowcount != 1:
                return False
        elif not await self._spread_capacity(ticket_type_id, capacity, shards):
            return False
        await self._tx.execute(
            _SET_TYPE_CAPACITY, {"p_type_id": ticket_type_id, "p_capacity": capacity}
        )
        return True

    async def _spread_capacity(self, ticket_type_id: UUID, capacity: int, shards: int) -> bool:
        query = _SHARDS_FOR_CHANGE
        if self._tx.is_postgres:
            query = _SHARDS_FOR_CHANGE_LOCKED
            self._tx.note_shard_lock(ticket_type_id, shards - 1)
        used = {
            int(shard_no): int(taken)
            for shard_no, taken in await self._tx.rows(query, {"p_type_id": ticket_type_id})
        }
        spare = capacity - sum(used.values())
        if spare < 0:
            return False
        for shard_no, extra in zip(sorted(used), split_capacity(spare, len(used)), strict=True):
            changed = await self._tx.execute(
                _SET_SHARD_CAPACITY,
                {
                    "p_type_id": ticket_type_id,
                    "p_shard_no": shard_no,
                    "p_capacity": used[shard_no] + extra,
                },
            )
            if changed.rowcount != 1:
                raise InventoryInvariantError(
                    f"shard {shard_no} of {ticket_type_id} refused a capacity it was locked for"
                )
        return True

    # -- reading ------------------------------------------------------------------------------

    async def levels(self, ticket_type_ids: Sequence[UUID]) -> dict[UUID, StockLevel]:
        if not ticket_type_ids:
            return {}
        rows = await self._tx.rows(_LEVELS, {"p_type_ids": list(dict.fromkeys(ticket_type_ids))})
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
