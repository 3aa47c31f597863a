"""The store's front door: `open_store` and the `Store` it returns.

`open_store(url, data_dir)` loads the secret key, creates the engine, checks that the database
answers (`StoreUnavailable` otherwise), migrates it to the newest revision and returns a
`Store` holding one repository per aggregate.
"""

from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from aiops_mcp.store.engine import create_engine, default_url, display_url, ping
from aiops_mcp.store.errors import StoreUnavailable
from aiops_mcp.store.migrator import migrate
from aiops_mcp.store.repositories import (
    AlertRepository,
    AuditRepository,
    ChatRepository,
    DatasourceRepository,
    ProfileRepository,
    TokenRepository,
)
from aiops_mcp.store.secrets import SecretBox, load_secret_box


class Store:
    """The engine's memory: one repository per aggregate over one engine.

    Repositories open their own sessions (``expire_on_commit=False``, so returned rows stay
    readable after commit). Close with `aclose` or use ``async with``.
    """

    def __init__(self, engine: AsyncEngine, box: SecretBox) -> None:
        self.engine = engine
        self.url = display_url(engine.url)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.datasources = DatasourceRepository(sessions, box)
        self.profiles = ProfileRepository(sessions)
        self.alerts = AlertRepository(sessions, engine.dialect.name)
        self.chats = ChatRepository(sessions)
        self.audit = AuditRepository(sessions)
        self.tokens = TokenRepository(sessions)

    async def aclose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()

    async def __aenter__(self) -> "Store":
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()


async def open_store(
    url: str | None, data_dir: Path, *, run_migrations: bool = True, environ: Mapping[str, str] | None = None
) -> Store:
    """Open (and by default migrate) the store at ``url``, or the embedded SQLite file in ``data_dir``.

    Raises `StoreUnavailable` when the database cannot be reached, `SecretKeyError` when the
    secret key is unusable.
    """
    data_dir = Path(data_dir)
    if url is None:
        try:
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise StoreUnavailable(f"cannot create the data directory {data_dir}: {error.strerror}") from None
        url = default_url(data_dir)
    box = load_secret_box(data_dir, environ)
    try:
        engine = create_engine(url)
    except (SQLAlchemyError, ImportError) as error:
        raise StoreUnavailable(f"invalid database URL {display_url(url)}: {error}") from None
    try:
        await ping(engine)
        if run_migrations:
            await migrate(engine)
    except BaseException:
        await engine.dispose()
        raise
    return Store(engine, box)
