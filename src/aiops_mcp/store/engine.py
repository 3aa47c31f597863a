"""Database URLs and async engines for both dialects, and the start-up reachability check.

With no URL the store is the embedded SQLite file ``<data_dir>/aiops-mcp.db``; PostgreSQL URLs
(``postgresql+asyncpg://...``, or plain ``postgresql://...``, which gets the asyncpg driver)
work the same. `ping` turns any failure to reach the database into one `StoreUnavailable`
line naming the URL with its password hidden.

SQLite connections get ``foreign_keys=ON`` (SQLite ignores foreign keys otherwise), WAL (readers
do not block the writer) and a busy timeout (concurrent writers wait instead of failing).
"""

import sqlite3
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from aiops_mcp.store.errors import StoreUnavailable

DB_FILE = "aiops-mcp.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT_SECONDS = 10.0


def default_url(data_dir: Path) -> str:
    """The embedded database's URL: an SQLite file in ``data_dir``."""
    return f"sqlite+aiosqlite:///{data_dir / DB_FILE}"


def display_url(url: str | URL) -> str:
    """``url`` safe to print: the password (if any) replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


ASYNC_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


def normalise_url(url: str | URL) -> URL:
    """``url`` with the async driver this project ships when none is named (``postgresql://...``)."""
    parsed = make_url(url)
    return parsed.set(drivername=ASYNC_DRIVERS.get(parsed.drivername, parsed.drivername))


def create_engine(url: str | URL) -> AsyncEngine:
    """An async engine for ``url`` with this project's per-dialect settings."""
    parsed = normalise_url(url)
    options: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "postgresql":
        options["connect_args"] = {"timeout": CONNECT_TIMEOUT_SECONDS}
    # Parameters can hold encrypted credentials and URLs: never write them into SQL logs.
    engine = create_async_engine(parsed, hide_parameters=True, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection SQLite settings (pragmas do not persist, except WAL)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


async def ping(engine: AsyncEngine) -> None:
    """Run ``SELECT 1``; `StoreUnavailable` naming the URL (password hidden) and the reason if it fails."""
    try:
        if engine.dialect.name == "sqlite":
            await anyio.to_thread.run_sync(_probe_sqlite_file, engine.url.database)
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    # Drivers raise their own types (OSError, TimeoutError, DBAPIError, asyncpg's auth errors...).
    except Exception as error:
        reason = _reason(error, engine.url.password)
        raise StoreUnavailable(f"cannot reach the database at {display_url(engine.url)}: {reason}") from None


def _probe_sqlite_file(path: str | None) -> None:
    """Open and close the SQLite file with the stdlib driver.

    Why: when aiosqlite fails to connect, its worker thread finishes after the caller has moved
    on and may report to a closed event loop; failing here first keeps the error ours.
    """
    if path and path != ":memory:" and not path.startswith("file:"):
        sqlite3.connect(path).close()


def _reason(error: BaseException, password: str | None) -> str:
    """The first line of the driver's own message, with the password scrubbed if it appears."""
    original = getattr(error, "orig", None) or error
    message = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    if password:
        message = message.replace(password, "***")
    return message[:300]
