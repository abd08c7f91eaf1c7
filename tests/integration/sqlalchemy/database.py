"""Test databases for the SQLAlchemy adapter: a PostgreSQL database per session, SQLite files.

Shared with the port contract suite (``tests/contract/backends.py``), which runs
the same tests on the in-memory adapter, SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy import text

from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence, upgrade
from eltiketi_adapters.sqlalchemy.models import metadata
from tests.infra.requirement import require

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"


def pg_url(database: str) -> str:
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


async def postgres_reachable() -> str | None:
    """None if the machine's PostgreSQL answers, else why not."""
    try:
        connection = await asyncpg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres", timeout=3
        )
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        return f"{PG_HOST}:{PG_PORT} unreachable ({type(error).__name__}: {error})"
    await connection.close()
    return None


def unique_database_name(purpose: str) -> str:
    return f"eltiketi_{purpose}_{os.getpid()}_{secrets.token_hex(4)}"


@asynccontextmanager
async def fresh_postgres_database(purpose: str, *, migrate: bool = True) -> AsyncIterator[str]:
    """Create a uniquely named database (migrated to head unless told not to); drop it after.

    Skips the test when PostgreSQL is unreachable — or fails it under ``CI=true``.
    """
    problem = await postgres_reachable()
    if problem is not None:
        require("postgresql", problem)
    name = unique_database_name(purpose)
    admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = pg_url(name)
    try:
        if migrate:
            await upgrade(url)
        yield url
    finally:
        admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def truncate_all(db: SqlAlchemyPersistence) -> None:
    """Empty every elTiketi table (PostgreSQL: one TRUNCATE; SQLite: DELETEs child-first)."""
    tables = [table.name for table in reversed(metadata.sorted_tables)]
    async with db.engine.begin() as connection:
        if db.dialect == "postgresql":
            names = ", ".join(f'"{name}"' for name in tables)
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                await connection.execute(text(f'DELETE FROM "{name}"'))


async def sqlite_database(folder: Path, name: str = "eltiketi.sqlite3") -> str:
    """A migrated SQLite file in ``folder``; returns its URL."""
    url = f"sqlite+aiosqlite:///{folder / name}"
    await upgrade(url)
    return url
