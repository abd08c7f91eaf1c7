"""Alembic environment for elTiketi's schema.

Migrations run on a connection handed over by
:mod:`eltiketi_adapters.sqlalchemy.migrate` (``config.attributes["connection"]``):
that connection already holds the migration lock and the caller's event loop
drives it, which an env.py that calls ``asyncio.run`` itself could not do.
Offline mode (``--sql``) renders the SQL for a URL instead.
"""

from __future__ import annotations

from typing import Any

from alembic import context

from eltiketi_adapters.sqlalchemy.models import metadata

config = context.config


def _options(dialect_name: str) -> dict[str, Any]:
    return {
        "target_metadata": metadata,
        "compare_type": True,
        "compare_server_default": True,
        # SQLite cannot ALTER most things: alembic rebuilds the table instead.
        "render_as_batch": dialect_name == "sqlite",
        "transaction_per_migration": False,
    }


def run_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("offline migrations need sqlalchemy.url")
    dialect_name = url.split(":", 1)[0].split("+", 1)[0]
    context.configure(
        url=url, literal_binds=True, dialect_opts={"paramstyle": "named"}, **_options(dialect_name)
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "run migrations through eltiketi_adapters.sqlalchemy.migrate (upgrade/downgrade), "
            "which passes a locked connection"
        )
    context.configure(connection=connection, **_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
