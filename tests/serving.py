"""The product's HTTP app served by a real uvicorn on a free loopback port, for tests."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import uvicorn

from aiops_mcp.demo.backends import free_port
from aiops_mcp.server.http import build_http_app
from aiops_mcp.settings import Settings


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[str]:
    """`build_http_app(settings)` served for the duration of the block; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(build_http_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(server.serve)
        with anyio.fail_after(20):
            while not server.started:  # uvicorn offers no event to wait on  # noqa: ASYNC110
                await anyio.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
