"""Some of the adapter's statements as PostgreSQL receives them, for clients that bypass it.

The benchmark's raw baseline drives PostgreSQL straight through asyncpg to
measure the ceiling of the adapter's own SQL; it takes the statements from
here rather than writing copies that could drift. Each one is compiled from
the very statement object the stores execute, for the asyncpg dialect the
adapter uses on PostgreSQL: the same text, the same ``$n`` placeholders.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from eltiketi_adapters.sqlalchemy.positional import PositionalSql, bound, positional
from eltiketi_adapters.sqlalchemy.stores import catalog, inventory

__all__ = ["PositionalSql", "event_read_sql", "reservation_sql"]


def reservation_sql(*, sharded: bool) -> PositionalSql:
    """The one statement that holds stock of a ticket type on PostgreSQL.

    One shard (``sharded=False``): the conditional ``UPDATE`` of the shard
    and the ``INSERT`` of the allocation it pays for. It returns one row
    (the shard) if it took the tickets, none if too few were left. It needs
    ``p_booking_id``, ``p_type_id``, ``p_shard_no`` and ``p_quantity``.

    Several shards (``sharded=True``): the ``SKIP LOCKED`` pick of the first
    shard that fits in the rotation that starts at ``p_start`` (of
    ``p_shards``), taken and allocated the same way. It returns one row: the
    shard taken (``NULL``: none), the type's committed stock, and the first
    shard that fits even if locked. It needs ``p_booking_id``, ``p_type_id``,
    ``p_quantity``, ``p_start`` and ``p_shards``. When it takes nothing the
    adapter goes on to further steps (``docs/inventory.md``); this is only
    the first and, when shards are free, the only one.
    """
    statement = inventory._TAKE_FREE_SHARD if sharded else inventory._TAKE_AND_RECORD
    return positional(statement)


def event_read_sql(event_id: UUID, ticket_type_ids: Sequence[UUID]) -> list[PositionalSql]:
    """The ``SELECT``s of one read of an event with its stock, with their values bound.

    In the order the adapter runs them for ``GET /v1/events/{id}``: the event,
    its ticket types, and the stock of ``ticket_type_ids`` (in the product
    these are what the second statement returned).
    """
    return [
        bound(catalog._EVENT, {"p_event_id": event_id}),
        bound(catalog._TICKET_TYPES, {"p_event_id": event_id}),
        bound(inventory._LEVELS, {"p_type_ids": list(dict.fromkeys(ticket_type_ids))}),
    ]
