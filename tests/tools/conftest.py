"""A real MCP client (in memory) on a server built for each test's backends, and the world's logs
served by the Loki double (Grafana Loki cannot run here; the double answers in the shapes recorded
from a real Loki 3.4.2)."""

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_types import CallToolResult

from aiops_mcp.demo.logs import LogLine, build_logs
from aiops_mcp.demo.seed import seed_demo
from aiops_mcp.demo.world import World
from aiops_mcp.runtime import Runtime
from aiops_mcp.server.app import build_runtime, build_server
from aiops_mcp.settings import Settings
from aiops_mcp.store import ProfileIn, open_store
from tests.doubles.loki import LokiDouble
from tests.doubles.loki.world import world_records


@asynccontextmanager
async def connected(settings: Settings, now: datetime | None = None) -> AsyncIterator[tuple[Client, Runtime]]:
    """An in-memory client on a fresh server; `now` pins the server's clock (relative ranges)."""
    runtime = build_runtime(settings)
    if now is not None:
        runtime.now = lambda: now
    try:
        async with Client(build_server(settings, runtime=runtime)) as client:
            yield client, runtime
    finally:
        await runtime.aclose()


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """The structured result of a tool call that must succeed."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return result.structured_content


async def call_error(client: Client, tool: str, **arguments: Any) -> str:
    """The error text of a tool call that must fail."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"expected an error, got: {text_of(result)[:500]}"
    return text_of(result)


async def seeded_settings(
    tmp_path: Path, prometheus_url: str | None, world_end: datetime, *extra: ProfileIn, **more: object
) -> Settings:
    """Settings on a fresh SQLite store seeded with the demo data (and `extra` profiles)."""
    settings = Settings(
        prometheus_url=prometheus_url,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}",
        aiops_mcp_data_dir=tmp_path,
        **more,
    )
    async with await open_store(settings.database_url, settings.data_dir) as store:
        await seed_demo(store, world_end)
        for profile in extra:
            await store.profiles.save(profile)
    return settings


@pytest.fixture(scope="module")
def lines(world: World) -> list[LogLine]:
    """The world's generated log lines (the ground truth of what the Loki double holds)."""
    return build_logs(world)


@pytest.fixture(scope="module")
def loki(world: World) -> Iterator[LokiDouble]:
    """The Loki double holding the world's logs."""
    with LokiDouble(world_records(world)) as double:
        yield double


@pytest.fixture
def connect() -> Callable[..., Any]:
    return connected
