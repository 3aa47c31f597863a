"""Every store test runs on both dialects: an SQLite file and a real, fresh PostgreSQL database.

The schema always comes from the migrations (`open_store` runs them), never from `create_all`.
"""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aiops_mcp.store import Store, open_store

DIALECTS = ["sqlite", "postgresql"]


@pytest.fixture(params=DIALECTS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database of each dialect."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The data directory the store keeps its secret key in."""
    return tmp_path / "data"


@pytest.fixture
async def store(db_url: str, data_dir: Path) -> AsyncIterator[Store]:
    """A migrated store on ``db_url`` with a generated secret key."""
    opened = await open_store(db_url, data_dir, environ={})
    try:
        yield opened
    finally:
        await opened.aclose()
