"""Statements written once and built for each dialect (PostgreSQL and SQLite).

``INSERT … ON CONFLICT`` comes from the dialect's own ``insert`` construct, so a store
that needs one holds both builds and picks per transaction with :meth:`PerDialect.on`.
Like every statement of the stores, they are built at import, not per call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql import ClauseElement

from eltiketi_adapters.sqlalchemy._tx import Tx
from eltiketi_adapters.sqlalchemy.positional import PositionalSql, positional


class PerDialect:
    """One statement, built with each dialect's ``insert``."""

    __slots__ = ("postgres", "sqlite")

    def __init__(self, build: Callable[[Any], Executable]) -> None:
        """``build(insert)`` gets ``sqlalchemy.dialects.<dialect>.insert``."""
        self.postgres = build(pg_insert)
        self.sqlite = build(sqlite_insert)

    def on(self, tx: Tx) -> Executable:
        """The build for ``tx``'s database."""
        return self.postgres if tx.is_postgres else self.sqlite

    def direct(self, column_keys: Sequence[str]) -> PositionalSql:
        """The PostgreSQL build for :meth:`Tx.fetch_direct`, executed with the values of
        ``column_keys`` (the columns, each parameter named after its column)."""
        assert isinstance(self.postgres, ClauseElement)
        return positional(self.postgres, column_keys=column_keys)


def insert_ignoring_conflict(
    model: Any,
    conflict_on: Sequence[Any] | None = None,
    *,
    conflict_where: Any = None,
    returning: Any = None,
) -> PerDialect:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING <column>``, executed with the row's
    values (keys = column names): a row comes back exactly when this insert wrote one.

    ``conflict_on`` (+ ``conflict_where`` for a partial index) names the uniqueness rule;
    without it any unique constraint counts. ``returning`` defaults to the first column
    of the primary key.
    """
    column = returning if returning is not None else model.__table__.primary_key.columns[0]
    return PerDialect(
        lambda insert: (
            insert(model)
            .on_conflict_do_nothing(index_elements=conflict_on, index_where=conflict_where)
            .returning(column)
        )
    )
