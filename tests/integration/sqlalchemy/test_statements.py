"""The adapter's statements for direct clients (``eltiketi_adapters.sqlalchemy.statements``).

Each must be the statement the adapter itself sends — same text, each
parameter where the adapter puts it — and must do the same thing when a
client drives it straight through asyncpg (the benchmark's raw baseline).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event

from eltiketi_adapters.sqlalchemy import (
    PositionalSql,
    SqlAlchemyPersistence,
    SqlAlchemyUnitOfWork,
    event_read_sql,
    reservation_sql,
)
from tests.integration.sqlalchemy.support import published_event

pytestmark = pytest.mark.postgres

Sent = tuple[str, tuple[Any, ...]]


async def _sent_by(
    db: SqlAlchemyPersistence, work: Callable[[SqlAlchemyUnitOfWork], Awaitable[None]]
) -> list[Sent]:
    """What the adapter sends while ``work`` runs in a unit of work (rolled back)."""
    sent: list[Sent] = []

    def record(_conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        sent.append((sql, tuple(params or ())))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with db.unit_of_work() as uow:
            await work(uow)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    return sent


@asynccontextmanager
async def _asyncpg(db: SqlAlchemyPersistence) -> AsyncIterator[asyncpg.Connection]:
    dsn = db.url.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        yield connection
    finally:
        await connection.close()


def _plain(values: Any) -> list[Any]:
    """Parameters as asyncpg would encode them (a UUID may travel as its text)."""
    return [str(v) if isinstance(v, uuid.UUID) else v for v in values]


@pytest.mark.parametrize("shards", [1, 4])
async def test_reservation_sql_is_the_statement_the_adapter_holds_stock_with(
    pg: SqlAlchemyPersistence, shards: int
) -> None:
    _, (ticket_type,) = await published_event(pg, 8, shards=shards)
    booking_id = uuid.uuid4()

    async def reserve(uow: SqlAlchemyUnitOfWork) -> None:
        assert await uow.inventory.reserve(booking_id, ticket_type.id, 2)

    (taking,) = [s for s in await _sent_by(pg, reserve) if "booking_allocations" in s[0]]
    statement = reservation_sql(sharded=shards > 1)
    assert taking[0] == statement.text
    position: dict[str, Any] = {
        "p_booking_id": booking_id,
        "p_type_id": ticket_type.id,
        "p_quantity": 2,
    }
    if shards == 1:
        position["p_shard_no"] = 0
    else:  # the random first shard of the rotation: whatever the adapter drew
        position["p_shards"] = shards
        position["p_start"] = taking[1][statement.names.index("p_start")]
    assert statement.required == position.keys()
    assert _plain(taking[1]) == _plain(statement.arguments(**position))


async def test_the_hot_row_reservation_driven_directly_takes_stock_until_none_is_left(
    pg: SqlAlchemyPersistence,
) -> None:
    _, (ticket_type,) = await published_event(pg, 3)
    statement = reservation_sql(sharded=False)
    taken: list[Any] = []
    async with _asyncpg(pg) as connection:
        for quantity in (2, 2, 1):
            taken.append(
                await connection.fetchrow(
                    statement.text,
                    *statement.arguments(
                        p_booking_id=uuid.uuid4(),
                        p_type_id=ticket_type.id,
                        p_shard_no=0,
                        p_quantity=quantity,
                    ),
                )
            )
    assert [row is not None for row in taken] == [True, False, True]  # 2 of 3, then 1
    async with pg.unit_of_work() as uow:
        (level,) = await uow.inventory.shard_levels(ticket_type.id)
    assert (level.capacity, level.held) == (3, 3)


async def test_the_sharded_reservation_driven_directly_spreads_over_free_shards(
    pg: SqlAlchemyPersistence,
) -> None:
    _, (ticket_type,) = await published_event(pg, 4, shards=4)
    statement = reservation_sql(sharded=True)
    rows: list[Any] = []
    async with _asyncpg(pg) as connection:
        for start in (0, 0, 3, 3, 1):
            rows.append(
                await connection.fetchrow(
                    statement.text,
                    *statement.arguments(
                        p_booking_id=uuid.uuid4(),
                        p_type_id=ticket_type.id,
                        p_quantity=1,
                        p_start=start,
                        p_shards=4,
                    ),
                )
            )
    # (shard taken, committed stock before, first shard that fits in the rotation)
    assert [tuple(row) for row in rows] == [
        (0, 4, 0),
        (1, 3, 1),
        (3, 2, 3),
        (2, 1, 2),
        (None, 0, None),
    ]
    async with pg.unit_of_work() as uow:
        assert [s.held for s in await uow.inventory.shard_levels(ticket_type.id)] == [1, 1, 1, 1]


async def test_event_read_sql_is_what_a_read_of_the_event_sends(
    pg: SqlAlchemyPersistence,
) -> None:
    read_event, types = await published_event(pg, 5, 7, shards=2)
    ids = [t.id for t in types]

    async def read(uow: SqlAlchemyUnitOfWork) -> None:
        await uow.catalog.get_event(read_event.id)
        listed = await uow.catalog.ticket_types(read_event.id)
        await uow.inventory.levels([t.id for t in listed])

    sent = [s for s in await _sent_by(pg, read) if s[0].lstrip().upper().startswith("SELECT")]
    statements = event_read_sql(read_event.id, ids)
    assert [(s.text, _plain(s.arguments())) for s in statements] == [
        (sql, _plain(params)) for sql, params in sent
    ]
    async with _asyncpg(pg) as connection:
        event_rows, type_rows, level_rows = [
            await connection.fetch(s.text, *s.arguments()) for s in statements
        ]
    assert [r["name"] for r in event_rows] == [read_event.name]
    assert [r["id"] for r in type_rows] == ids
    assert sorted((r[0], r[1]) for r in level_rows) == sorted([(ids[0], 5), (ids[1], 7)])


def test_arguments_refuse_a_missing_parameter() -> None:
    statement = reservation_sql(sharded=False)
    assert isinstance(statement, PositionalSql)
    with pytest.raises(TypeError, match="p_shard_no"):
        statement.arguments(p_booking_id=uuid.uuid4(), p_type_id=uuid.uuid4(), p_quantity=1)
