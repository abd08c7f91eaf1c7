"""PostgreSQL (asyncpg) and SQLite (aiosqlite) persistence for elTiketi, on SQLAlchemy 2.

Public API (everything else in this package is internal; ORM models never
leave it — stores return the core's msgspec structs)::

    db = SqlAlchemyPersistence(url, pool_size=10)   # owns the engine
    await upgrade(url)                              # migrations, advisory-locked
    uow_factory = db.uow_factory()                  # what the core's use cases take
    db.add_commit_listener(relay_wakeup)            # after commits that wrote events
    await prune(uow_factory, clock.now())           # scheduled housekeeping
    await db.aclose()                               # app shutdown
    reservation_sql(sharded=False)                  # hot statements as asyncpg text,
    event_read_sql(event_id, ticket_type_ids)       #   for direct clients (benchmark)

See ``docs/postgres.md`` and ``docs/inventory.md``.
"""

from eltiketi_adapters.sqlalchemy.maintenance import PruneResult, prune
from eltiketi_adapters.sqlalchemy.migrate import (
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from eltiketi_adapters.sqlalchemy.persistence import SqlAlchemyPersistence
from eltiketi_adapters.sqlalchemy.statements import PositionalSql, event_read_sql, reservation_sql
from eltiketi_adapters.sqlalchemy.uow import SqlAlchemyUnitOfWork

__all__ = [
    "PositionalSql",
    "PruneResult",
    "SqlAlchemyPersistence",
    "SqlAlchemyUnitOfWork",
    "current_revision",
    "downgrade",
    "event_read_sql",
    "head_revision",
    "prune",
    "reservation_sql",
    "upgrade",
]
