"""The migrations create exactly the models' schema, on both dialects, from the installed package."""

import os
from importlib.resources import files
from pathlib import Path
from typing import Any

import anyio
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from aiops_mcp.store import Store, alembic_config, head_revision, migrate, open_store
from aiops_mcp.store.engine import create_engine
from aiops_mcp.store.migrator import current_revision
from aiops_mcp.store.models import Base

pytestmark = pytest.mark.anyio

TABLES = {
    "alembic_version",
    "alerts",
    "api_tokens",
    "application_profiles",
    "audit_log",
    "chat_messages",
    "chat_sessions",
    "datasources",
}


def _drift(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_create_every_table_at_head(store: Store) -> None:
    async with store.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        revision = await connection.run_sync(current_revision)
    assert tables == TABLES
    assert revision == head_revision() == "0001"


async def test_migrated_schema_has_no_drift_from_the_models(store: Store) -> None:
    async with store.engine.connect() as connection:
        assert await connection.run_sync(_drift) == []


async def test_migrate_twice_is_a_no_op(db_url: str) -> None:
    await migrate(db_url)
    await migrate(db_url)
    engine = create_engine(db_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(current_revision) == "0001"
            assert await connection.run_sync(_drift) == []
    finally:
        await engine.dispose()


async def test_downgrade_to_base_drops_everything_and_upgrade_restores_it(db_url: str) -> None:
    await migrate(db_url)
    engine = create_engine(db_url)

    def downgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "base")

    try:
        async with engine.begin() as connection:
            await connection.run_sync(downgrade)
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert tables == {"alembic_version"}
        await migrate(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_drift) == []
    finally:
        await engine.dispose()


def test_migrations_ship_inside_the_package_and_need_no_ini_file() -> None:
    migrations = files("aiops_mcp.store") / "migrations"
    assert (migrations / "env.py").is_file()
    assert (migrations / "script.py.mako").is_file()
    assert (migrations / "versions" / "0001_initial.py").is_file()
    config = alembic_config()
    assert config.config_file_name is None
    assert config.get_main_option("script_location") == str(migrations)


async def test_the_alembic_command_line_path_sees_no_drift_and_renders_clean_revisions(
    db_url: str, tmp_path: Path
) -> None:
    await migrate(db_url)
    # The command-line path runs its own event loop (env.py's asyncio.run): give it a thread.
    await anyio.to_thread.run_sync(command.check, alembic_config(db_url))
    config = alembic_config(db_url)
    shipped = files("aiops_mcp.store") / "migrations" / "versions"
    config.set_main_option("version_locations", os.pathsep.join([str(shipped), str(tmp_path)]))

    def empty_revision() -> str:
        script = command.revision(
            config, message="nothing", autogenerate=True, rev_id="9999", version_path=str(tmp_path)
        )
        assert script is not None and not isinstance(script, list)
        return Path(script.path).read_text()

    source = await anyio.to_thread.run_sync(empty_revision)
    assert "down_revision: str | Sequence[str] | None = '0001'" in source
    assert "aiops_mcp" not in source and "pass" in source
    compile(source, "9999_nothing.py", "exec")


async def test_opening_and_migrating_write_nothing_to_stdout(
    db_url: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    async with await open_store(db_url, tmp_path, environ={}):
        pass
    assert capfd.readouterr().out == "", "stdout carries the MCP protocol in stdio mode"
