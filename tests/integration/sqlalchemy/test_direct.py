"""Statements the adapter runs straight on asyncpg (PostgreSQL's hold path and relay).

They skip SQLAlchemy's execution machinery but not its transaction: each runs in the
unit of work's transaction, ends with its commit or rollback, and fails with the same
domain errors as any other statement. (The contract tests check what the stores
answer; these check what the bypass itself must keep.)
"""

from __future__ import annotations

from datetime import UTC

import msgspec
import pytest
from sqlalchemy import event, text

from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from eltiketi_core.errors import Conflict, GatewayUnavailable
from tests.contract.builders import new_booking
from tests.integration.sqlalchemy.support import outbox_size, published_event, some_fact

pytestmark = pytest.mark.postgres


async def test_a_direct_statement_first_in_a_unit_of_work_is_inside_its_transaction(
    pg: SqlAlchemyPersistence,
) -> None:
    async with pg.unit_of_work() as uow:
        await uow.outbox.add([some_fact()])  # the first statement: nothing begun before it
        async with pg.engine.connect() as other:  # not visible before the commit
            assert await other.scalar(text("SELECT count(*) FROM outbox")) == 0
    assert await outbox_size(pg) == 0  # left without a commit: rolled back

    async with pg.unit_of_work() as uow:
        await uow.outbox.add([some_fact()])
        await uow.commit()
        await uow.outbox.add([some_fact()])  # after a commit: a new transaction, committed next
        await uow.commit()
        await uow.outbox.add([some_fact()])  # and this one is rolled back on leaving
    assert await outbox_size(pg) == 2


@pytest.mark.parametrize("twins", [1, 2], ids=["one statement", "executemany"])
async def test_a_duplicate_written_directly_is_a_conflict_and_rolls_back(
    pg: SqlAlchemyPersistence, twins: int
) -> None:
    sale, (ticket_type,) = await published_event(pg, 5)
    first, second = (new_booking(sale, [(ticket_type, 1)], buyer=f"d{n}") for n in range(2))
    twin = msgspec.structs.replace(new_booking(sale, [(ticket_type, 1)], buyer="d2"), id=first.id)

    async def write_twice() -> None:
        async with pg.unit_of_work() as uow:
            await uow.bookings.add_many([first, second])
            await uow.bookings.add_many([twin, second][:twins])

    with pytest.raises(Conflict) as raised:
        await write_twice()
    assert raised.value.code == "constraint_violation"
    async with pg.unit_of_work() as uow:
        assert await uow.bookings.get(first.id) is None  # the whole transaction went


async def test_values_read_directly_are_what_the_stores_read_elsewhere(
    pg: SqlAlchemyPersistence,
) -> None:
    sale, (ticket_type,) = await published_event(pg, 5)
    async with pg.unit_of_work() as uow:
        found = await uow.catalog.open_for_sale(sale.id, [ticket_type.id], buyer="v1")
        assert found is not None
        opened, types = found
        assert opened == await uow.catalog.get_event(sale.id)
        assert types == {ticket_type.id: ticket_type}
        assert opened.starts_at.tzinfo is not None
        assert opened.starts_at.utcoffset() == UTC.utcoffset(None)
        fact = some_fact()
        await uow.outbox.add([fact])
        (entry,) = await uow.outbox.pending(limit=10)
        assert entry.event == fact


async def test_engine_listeners_see_direct_statements(pg: SqlAlchemyPersistence) -> None:
    seen: list[str] = []

    def record(_c: object, _cur: object, sql: str, *_rest: object) -> None:
        seen.append(sql)

    event.listen(pg.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with pg.unit_of_work() as uow:
            await uow.outbox.pending(limit=1)
    finally:
        event.remove(pg.engine.sync_engine, "before_cursor_execute", record)
    assert [sql.split()[0] for sql in seen] == ["SELECT"]


async def test_a_connection_lost_under_a_direct_statement_is_unavailable_and_invalidated(
    pg: SqlAlchemyPersistence,
) -> None:
    async with pg.unit_of_work() as uow:
        pid = await uow.connection.scalar(text("SELECT pg_backend_pid()"))
        async with pg.engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(GatewayUnavailable):
            await uow.outbox.pending(limit=1)
        assert uow.connection.invalidated  # not handed out again by the pool
    async with pg.unit_of_work() as uow:
        assert await uow.outbox.pending(limit=1) == []
