"""Schema migrations (alembic), callable from async code and safe to start on many replicas.

The migration scripts ship inside the package (``migrations/versions``), so an
installed wheel can migrate its database with no ``alembic.ini`` around:
``eltiketi db upgrade`` and the embedded mode's start-up call :func:`upgrade`.

Serialisation:

* **PostgreSQL** — the migration connection takes a session-level
  ``pg_advisory_lock`` (:data:`MIGRATION_LOCK_KEY`) before alembic reads the
  version table, and runs every pending revision in one transaction
  (PostgreSQL's DDL is transactional: all or nothing). A second replica
  starting at the same moment waits for the lock, then finds the schema at
  head and does nothing.
* **SQLite** — the migration transaction starts with ``BEGIN IMMEDIATE``,
  which takes SQLite's single write lock; a second process waits for it
  (``busy_timeout``) and then sees the new version. No extra lock file is
  needed.

advanced-alchemy's alembic commands are not used to *run* migrations: its
``env.py`` calls ``asyncio.run`` (impossible inside the app's running event
loop) and opens its own connection (which would not hold our lock). Our
``env.py`` takes the locked connection from ``config.attributes`` instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.engine import URL

from eltiketi_adapters.sqlalchemy.engine import POSTGRES, create_engine, dialect_of, normalize_url
from eltiketi_adapters.sqlalchemy.errors import is_database_error, translate

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

#: The one-part advisory lock key that serialises migrations ("ELTIKETI" in ASCII).
MIGRATION_LOCK_KEY = 0x454C54494B455449


def alembic_config(connection: Connection | None = None, *, url: str | None = None) -> Config:
    """An alembic :class:`~alembic.config.Config` for elTiketi's migrations.

    Give ``connection`` to run migrations on it, or ``url`` for offline SQL (``--sql``).
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision shipped with this version of elTiketi."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise RuntimeError("no migrations found")
    return head


def revisions() -> list[str]:
    """Every shipped revision, oldest first (the stairway test walks them)."""
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


async def upgrade(url: str | URL, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision`` (default: the newest).

    Safe to call from several processes at once (see the module docstring).

    Raises:
        GatewayUnavailable: the database cannot be reached.
    """
    await _migrate(url, lambda config: command.upgrade(config, revision), f"upgrade to {revision}")


async def downgrade(url: str | URL, revision: str) -> None:
    """Migrate the database at ``url`` down to ``revision`` (``"base"``: drop everything).

    Raises:
        GatewayUnavailable: the database cannot be reached.
    """
    await _migrate(
        url, lambda config: command.downgrade(config, revision), f"downgrade to {revision}"
    )


async def current_revision(url: str | URL) -> str | None:
    """The revision the database at ``url`` is at; None for an empty database."""
    engine = create_engine(url, single_connection=True, sqlite_foreign_keys=False)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    except Exception as error:
        if is_database_error(error):
            raise translate(error) from error
        raise
    finally:
        await engine.dispose()


async def _migrate(url: str | URL, action: Callable[[Config], None], what: str) -> None:
    parsed = normalize_url(url)
    postgres = dialect_of(parsed) == POSTGRES
    engine = create_engine(parsed, single_connection=True, sqlite_foreign_keys=False)
    try:
        async with engine.connect() as connection:
            if postgres:
                await connection.execute(
                    text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
                await connection.commit()
            try:
                await connection.run_sync(_apply, action)
            finally:
                if postgres:
                    await connection.rollback()
                    await connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                    )
                    await connection.commit()
        logger.info(
            "database migrated",
            extra={"action": what, "database": parsed.render_as_string(hide_password=True)},
        )
    except Exception as error:
        if is_database_error(error):
            raise translate(error) from error
        raise
    finally:
        await engine.dispose()


def _apply(connection: Connection, action: Callable[[Config], None]) -> None:
    """Run ``action`` in one transaction of ``connection``, which alembic then reuses."""
    with connection.begin():
        action(alembic_config(connection))
