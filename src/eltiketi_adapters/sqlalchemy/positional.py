"""Statements compiled once for asyncpg: ``$n`` text and the parameter behind each ``$n``.

The adapter runs its hottest PostgreSQL statements straight on the asyncpg
connection of the unit of work's transaction (:meth:`Tx.fetch_direct`), past
SQLAlchemy's per-execution work (cache key, execution context, bind and result
processors), which cost a fifth of the API's CPU on the hold path. Each such
statement is compiled here, at import, from the very statement object the
stores otherwise execute, for the asyncpg dialect: the same text, the same
``$n`` placeholders. Literal values inside the statement (a status compared
with a constant, a constant ``IN`` list) are bound once, at compile time.

What SQLAlchemy's types did per value is the caller's now: JSON goes in as
text (:func:`json_text`, the engine's serializer; the connection's codec,
installed by SQLAlchemy's dialect, decodes JSON results as today), UUIDs,
aware datetimes, integers and strings are asyncpg's own. An expanding ``IN``
becomes ``= ANY(<array>)``, so the text never depends on a list's length.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

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
        merged = {**self.values, **values} if self.values else values
        try:
            return [merged[name] for name in self.names]
        except KeyError:
            missing = self.required - merged.keys()
            raise TypeError(f"missing parameters: {', '.join(sorted(missing))}") from None


def positional(
    statement: ClauseElement, *, column_keys: Sequence[str] | None = None
) -> PositionalSql:
    """``statement`` compiled for asyncpg, its constant values bound.

    An ``INSERT`` without ``values()`` gets the columns ``column_keys``, as SQLAlchemy
    compiles it for parameter dicts with those keys; each column's parameter is
    named after it.
    """
    compiled = statement.compile(
        dialect=_DIALECT, column_keys=list(column_keys) if column_keys is not None else None
    )
    assert isinstance(compiled, SQLCompiler)
    required = {name for name, bind in compiled.binds.items() if bind.required}
    state = compiled.construct_expanded_state(dict.fromkeys(required))
    names = tuple(state.positiontup or ())
    fixed = {name: state.parameters[name] for name in names if name not in required}
    return PositionalSql(state.statement, names, fixed)


def bound(statement: ClauseElement, values: Mapping[str, Any]) -> PositionalSql:
    """``statement`` compiled for asyncpg with all its values bound (expanding ones too)."""
    compiled = statement.compile(dialect=_DIALECT)
    assert isinstance(compiled, SQLCompiler)
    state = compiled.construct_expanded_state(dict(values))
    names = tuple(state.positiontup or ())
    return PositionalSql(state.statement, names, {name: state.parameters[name] for name in names})
