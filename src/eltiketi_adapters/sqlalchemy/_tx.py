"""What the stores of one unit of work share: its connection, dialect and caches."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeAlias, TypeVar
from uuid import UUID

from sqlalchemy import CursorResult, Executable, Row
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncTransaction
from sqlalchemy.util import greenlet_spawn

from eltiketi_adapters.sqlalchemy.engine import POSTGRES
from eltiketi_adapters.sqlalchemy.errors import is_database_error, translate
from eltiketi_adapters.sqlalchemy.positional import PositionalSql

T = TypeVar("T")

#: A result row of any width (SQLAlchemy 2.1 types rows by their column tuple).
AnyRow: TypeAlias = Row[*tuple[Any, ...]]
#: A row of :meth:`Tx.fetch_direct`: an ``asyncpg.Record`` (by key, by index, or
#: unpacked; no attribute access).
DirectRow: TypeAlias = Any


class ShardCounts:
    """How many inventory rows each ticket type has (fixed when the type is created).

    Shared by every unit of work of one engine, so the hot reservation path
    does not read ``ticket_types`` again for every buyer. Bounded LRU.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self._counts: OrderedDict[UUID, int] = OrderedDict()
        self._max = max_entries

    def get(self, ticket_type_id: UUID) -> int | None:
        count = self._counts.get(ticket_type_id)
        if count is not None:
            self._counts.move_to_end(ticket_type_id)
        return count

    def put(self, ticket_type_id: UUID, count: int) -> None:
        self._counts[ticket_type_id] = count
        self._counts.move_to_end(ticket_type_id)
        while len(self._counts) > self._max:
            self._counts.popitem(last=False)


class Tx:
    """The open transaction of a unit of work. Every statement goes through :meth:`execute`
    so database errors reach the core as domain errors."""

    def __init__(
        self,
        connection: AsyncConnection,
        dialect: str,
        shard_counts: ShardCounts,
    ) -> None:
        self.connection = connection
        self.dialect = dialect
        self.shard_counts = shard_counts
        #: The highest (ticket type, shard) this transaction may hold a row lock on.
        #: Blocking lock waits must only go above it (see ``docs/inventory.md``).
        self.highest_shard_lock: tuple[UUID, int] | None = None
        #: SQLAlchemy's adapter around the asyncpg connection (PostgreSQL), once looked up.
        self._adapted: Any = None

    def note_shard_lock(self, ticket_type_id: UUID, shard_no: int) -> None:
        """Remember that a row lock on this shard may now be ours until the end."""
        key = (ticket_type_id, shard_no)
        if self.highest_shard_lock is None or key > self.highest_shard_lock:
            self.highest_shard_lock = key

    @property
    def is_postgres(self) -> bool:
        return self.dialect == POSTGRES

    async def execute(
        self,
        statement: Executable,
        params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    ) -> CursorResult[Any]:
        try:
            return await self.connection.execute(statement, params)
        except Exception as error:
            if is_database_error(error):
                raise translate(error) from error
            raise

    async def fetch_direct(self, sql: PositionalSql, params: Mapping[str, Any]) -> list[DirectRow]:
        """PostgreSQL only: run ``sql`` straight on the asyncpg connection, inside this
        transaction, and return its rows (``asyncpg.Record``). Errors are translated
        as by :meth:`execute`.

        SQLAlchemy's per-statement work (cache key lookup, execution context, type
        processors, result metadata) costs more CPU than asyncpg's own for the short
        statements of the hold path; the hottest of them come here instead (see
        ``positional.py`` for what the caller must then do about types).
        """
        arguments = sql.arguments(**params)
        rows: list[DirectRow] = await self._direct(
            sql.text, arguments, lambda driver: driver.fetch(sql.text, *arguments)
        )
        return rows

    async def execute_many_direct(
        self, sql: PositionalSql, params: Sequence[Mapping[str, Any]]
    ) -> None:
        """PostgreSQL only: :meth:`fetch_direct` for a statement without rows, run once
        per parameter set in one round trip (asyncpg's ``executemany``, as SQLAlchemy
        runs a list of parameter sets)."""
        arguments = [sql.arguments(**values) for values in params]
        await self._direct(
            sql.text, arguments, lambda driver: driver.executemany(sql.text, arguments), many=True
        )

    async def first_mapping(
        self, statement: Executable, direct: PositionalSql, params: Mapping[str, Any]
    ) -> Mapping[Any, Any] | None:
        """The first row of ``statement`` by column name, or None; on PostgreSQL the same
        statement compiled for asyncpg (``direct``) runs instead."""
        if self.is_postgres:
            found = await self.fetch_direct(direct, params)
            return found[0] if found else None
        row = (await self.execute(statement, params)).first()
        return row._mapping if row is not None else None

    async def changed_one(
        self, statement: Executable, direct: PositionalSql, params: Mapping[str, Any]
    ) -> bool:
        """Whether the conditional ``UPDATE`` changed exactly one row. On PostgreSQL
        ``direct`` is the same ``UPDATE … RETURNING`` a column of the changed row (a
        direct statement has no rowcount)."""
        if self.is_postgres:
            return len(await self.fetch_direct(direct, params)) == 1
        return bool((await self.execute(statement, params)).rowcount == 1)

    async def _direct(
        self,
        text: str,
        arguments: Any,
        run: Callable[[Any], Awaitable[T]],
        *,
        many: bool = False,
    ) -> T:
        """``run(asyncpg_connection)`` inside this transaction (begun first if it is not
        yet), as SQLAlchemy's adapter runs a statement: one at a time on the connection."""
        adapted = await self._driver()
        self._announce(text, arguments, many=many)
        try:
            async with adapted._execute_mutex:
                if adapted._transaction is None:
                    await adapted._start_transaction()
                return await run(adapted._connection)
        except Exception as error:
            raise await self._translated(adapted, error, text, arguments) from error

    def _announce(self, text: str, arguments: Any, *, many: bool) -> None:
        """SQLAlchemy's ``before_cursor_execute`` event and ``echo`` log for a direct
        statement, as for any other: whoever watches the engine's statements (round-trip
        counts, tracing, ``echo``) sees these too. Nothing to do, and next to no cost,
        when nobody listens."""
        connection = self.connection.sync_connection
        if connection is None:  # closed: the statement fails in the driver
            return
        dispatch = connection.dispatch
        if dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(connection, None, text, arguments, None, many)
        if connection._echo:
            connection._log_info(text)
            connection._log_info("[direct] %r", arguments)

    async def _driver(self) -> Any:
        """SQLAlchemy's asyncpg adapter of this unit of work's connection.

        SQLAlchemy begins the database transaction at the first statement; a direct
        statement first makes sure SQLAlchemy's transaction is open (after a commit the
        unit of work goes on in a new one), so its commit or rollback ends the work
        done here too.
        """
        if not self.connection.in_transaction():
            await self.connection.begin()
        adapted = self._adapted
        if adapted is None:
            fairy = await self.connection.get_raw_connection()
            adapted = self._adapted = fairy.dbapi_connection
        return adapted

    async def _translated(
        self, adapted: Any, error: Exception, text: str, arguments: Any
    ) -> BaseException:
        """The error :meth:`execute` would raise for ``error`` of asyncpg.

        SQLAlchemy's own handling, step by step: its adapter maps the asyncpg error to a
        DB-API one; the connection wraps that (``IntegrityError`` …), runs the
        ``handle_error`` hooks and, for a lost connection, invalidates it and the pool's
        older ones; then the domain error. Only on the error path, so its cost is moot.
        """
        try:
            adapted._handle_exception(error)  # always raises
        except Exception as dbapi_error:
            mapped: Exception = dbapi_error
        connection = self.connection.sync_connection
        if connection is None or not isinstance(mapped, self.connection.dialect.loaded_dbapi.Error):
            return translate(mapped) if is_database_error(mapped) else mapped

        def handle() -> None:
            try:
                raise mapped
            except Exception as raised:  # within the greenlet: its exc_info is set
                connection._handle_dbapi_exception(raised, text, arguments, None, None)

        try:
            await greenlet_spawn(handle)
        except Exception as wrapped:
            mapped = wrapped
        return translate(mapped) if is_database_error(mapped) else mapped

    async def savepoint(self) -> AsyncTransaction:
        """``SAVEPOINT``: a part of the transaction that can be undone alone, with the
        row locks taken inside it (PostgreSQL releases them on rollback)."""
        try:
            return await self.connection.begin_nested()
        except Exception as error:
            if is_database_error(error):
                raise translate(error) from error
            raise

    async def end_savepoint(
        self, savepoint: AsyncTransaction, *, keep: bool, quietly: bool = False
    ) -> None:
        """``RELEASE`` (keep) or ``ROLLBACK TO`` the savepoint. ``quietly`` while another
        error is already on its way: a failure here must not hide it."""
        try:
            await (savepoint.commit() if keep else savepoint.rollback())
        except Exception as error:
            if quietly:
                return
            if is_database_error(error):
                raise translate(error) from error
            raise

    async def in_savepoint(self, work: Callable[[], Awaitable[T]], keep: Callable[[T], bool]) -> T:
        """Run ``work`` in a savepoint: released if ``keep(result)``, otherwise rolled back
        with the row locks taken inside it; an error rolls it back and goes on."""
        savepoint = await self.savepoint()
        try:
            result = await work()
        except BaseException:
            await self.end_savepoint(savepoint, keep=False, quietly=True)
            raise
        await self.end_savepoint(savepoint, keep=keep(result))
        return result

    async def rows(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Sequence[AnyRow]:
        return (await self.execute(statement, params)).all()

    async def first(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> AnyRow | None:
        return (await self.execute(statement, params)).first()


async def insert_unless_exists(
    tx: Tx,
    model: Any,
    values: Mapping[str, Any],
    *,
    conflict_on: Sequence[Any] | None = None,
    conflict_where: Any = None,
) -> bool:
    """``INSERT … ON CONFLICT DO NOTHING``; True if the row was written.

    The uniqueness rule is checked by the database at write time, so of two
    concurrent callers exactly one wins; the other waits for it to commit and
    then gets False, without an error that would abort its transaction.
    ``conflict_on`` (+ ``conflict_where`` for a partial index) names the rule;
    without it any unique constraint counts.
    """
    dialect_insert = pg_insert if tx.is_postgres else sqlite_insert
    statement = dialect_insert(model).values(**values)
    statement = statement.on_conflict_do_nothing(
        index_elements=conflict_on, index_where=conflict_where
    )
    primary_key = model.__table__.primary_key.columns[0]
    return (await tx.first(statement.returning(primary_key))) is not None
