"""`aiops-mcp chat`: the bundled MCP host, in the terminal or (with ``--web``) as a web page.

Without ``--url`` it spawns ``aiops-mcp serve`` over stdio with this process's environment (so
the same PROMETHEUS_URL, LOKI_URL and DATABASE_URL); with ``--url`` it connects over streamable
HTTP, sending ``--token`` as a bearer token. ``--model`` (any LiteLLM model string, its key from
the provider's usual environment variable) answers with a model; without it the offline planner.
"""

import argparse
import os
import sys

import anyio
from mcp.client.stdio import StdioServerParameters

from aiops_mcp.client_demo.host import HostDisconnected, McpHost, Target
from aiops_mcp.client_demo.session import ChatSession
from aiops_mcp.client_demo.terminal import repl


def server_target(url: str | None) -> Target:
    """The server to talk to: the URL given, or `aiops-mcp serve` spawned over stdio."""
    if url:
        return url
    return StdioServerParameters(
        command=sys.executable, args=["-m", "aiops_mcp", "serve"], env=dict(os.environ)
    )


def run_chat(args: argparse.Namespace) -> int:
    """Run the terminal chat until the user leaves; 1 when the server cannot be reached."""

    async def chat() -> int:
        try:
            async with McpHost.open(server_target(args.url), token=args.token) as host:
                session = ChatSession(host, args.model)
                await repl(session.ask, session.mode)
        except HostDisconnected as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0

    return anyio.run(chat)
