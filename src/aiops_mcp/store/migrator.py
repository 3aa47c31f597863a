"""Schema migrations, run programmatically: no alembic.ini on disk, works from an installed package.

`migrate(url)` upgrades a database to the newest revision. It opens an async engine, begins a
transaction and hands its connection to Alembic (``config.attributes["connection"]``), so the
same code path serves SQLite and PostgreSQL and needs no event loop of its own. For the
``alembic`` command line (new revisions), `alembic_config(url)` gives the equivalent config.
"""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from aiops_mcp.store.engine import create_engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(url: str | None = None) -> Config:
    """An Alembic `Config` built in code, pointing at the migrations shipped in this package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if url is not None:
        # ConfigParser interpolates '%': URL-encoded passwords must be escaped.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str | None:
    """The newest revision shipped with this package."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The revision ``connection``'s database is at (None before the first migration)."""
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: Connection, revision: str) -> None:
    """Run Alembic's ``upgrade`` on an already open (sync facade) connection."""
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def migrate(target: str | AsyncEngine, revision: str = "head") -> None:
    """Upgrade the database at ``target`` (a URL or an engine) to ``revision``, in one transaction."""
    engine = create_engine(target) if isinstance(target, str) else target
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, revision)
    finally:
        if isinstance(target, str):
            await engine.dispose()
