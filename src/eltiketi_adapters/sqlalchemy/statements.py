"""Some of the adapter's statements as PostgreSQL receives them, for clients that bypass it.

The benchmark's raw baseline drives PostgreSQL straight through asyncpg to
measure the ceiling of the adapter's own SQL; it takes the statements from
here rather than writing copies that could drift. Each one is compiled from
the very statement object the stores execute, for the asyncpg dialect the
adapter uses on PostgreSQL: the same text, the same ``$n`` placeholders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from eltiketi_adapters.sqlalchemy.stores import catalog, inventory

_DIALECT: Dialect = PGDialect_asyncpg()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class PositionalSql:
    """One statement as asyncpg takes it: text with ``$1 … $n`` and what goes in each.

    ``names[i]`` is the parameter behind ``$(i+1)``; ``values`` holds those the
    adapter always binds to the same value (and, for a statement made for given
    values, those too). :meth:`arguments` fills in the rest.
    """

    text: str
    names: tuple[str, ...]
    values: Mapping[str, Any] = field(default_factory=dict)

    @property
    def required(self) -> frozenset[str]:
        """The parameters :meth:`arguments` must be given."""
        return frozenset(self.names) - self.values.keys()

    def arguments(self, **values: Any) -> list[Any]:
        """Positional arguments for ``connection.fetch(text, *arguments)``."""
        merged = {**self.values, **values}
        missing = self.required - merged.keys()
        if missing:
            raise TypeError(f"missing parameters: {', '.join(sorted(missing))}")
        return [merged[name] for name in self.names]


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
    compiled = statement.compile(dialect=_DIALECT)
    names = tuple(compiled.positiontup or ())
    fixed = {
        name: bind.value
        for name, bind in compiled.binds.items()
        if name in names and not bind.required
    }
    return PositionalSql(compiled.string, names, fixed)


def event_read_sql(event_id: UUID, ticket_type_ids: Sequence[UUID]) -> list[PositionalSql]:
    """The ``SELECT``s of one read of an event with its stock, with their values bound.

    In the order the adapter runs them for ``GET /v1/events/{id}``: the event,
    its ticket types, and the stock of ``ticket_type_ids`` (in the product
    these are what the second statement returned).
    """
    return [
        _bound(catalog._EVENT, {"p_event_id": event_id}),
        _bound(catalog._TICKET_TYPES, {"p_event_id": event_id}),
        _bound(inventory._LEVELS, {"p_type_ids": list(dict.fromkeys(ticket_type_ids))}),
    ]


def _bound(statement: ClauseElement, values: Mapping[str, Any]) -> PositionalSql:
    compiled = statement.compile(dialect=_DIALECT)
    assert isinstance(compiled, SQLCompiler)
    state = compiled.construct_expanded_state(dict(values))
    names = tuple(state.positiontup or ())
    return PositionalSql(state.statement, names, {name: state.parameters[name] for name in names})
