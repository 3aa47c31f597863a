"""Alembic environment of the store, for both SQLite (aiosqlite) and PostgreSQL (asyncpg).

Two ways in:
- `aiops_mcp.store.migrate` hands over an open connection in ``config.attributes["connection"]``
  (Alembic's connection-sharing recipe): no alembic.ini, no second engine;
- the ``alembic`` command line with ``sqlalchemy.url`` set: an async engine is created here
  and the migrations run through ``run_sync`` (Alembic's async recipe).

SQLite cannot ALTER most things in place, so migrations run in batch mode there.
"""

import asyncio
from typing import Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_engine_from_config

from aiops_mcp.store.models import Base
from aiops_mcp.store.types import UTCDateTime

config = context.config
target_metadata = Base.metadata


def render_item(kind: str, obj: object, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render `UTCDateTime` as a plain timestamptz, so revisions never import the models' types."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    """Emit SQL for ``sqlalchemy.url``'s dialect instead of running it (``alembic upgrade --sql``)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    """Run the pending revisions on ``connection`` (a sync facade over the async connection)."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    """Create an async engine from the config, migrate, dispose of it."""
    engine = async_engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


shared = config.attributes.get("connection")
if context.is_offline_mode():
    run_migrations_offline()
elif shared is not None:
    do_run_migrations(shared)
else:
    asyncio.run(run_async_migrations())
