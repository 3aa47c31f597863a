"""`aiops-mcp chat`: the bundled MCP host, in the terminal or (with ``--web``) as a web page.

Without ``--url`` it spawns ``aiops-mcp serve`` over stdio with this process's environment (so
the same PROMETHEUS_URL, LOKI_URL and DATABASE_URL); with ``--url`` it connects over streamable
HTTP, sending ``--token`` as a bearer token. ``--web`` serves the split-screen page instead of the
terminal chat, saving the conversation in this machine's store (DATABASE_URL, or the data directory;
with ``--url`` the server shares that history only when it uses the same DATABASE_URL). A server
lost during the chat is connected again (a stdio server is spawned again); until it answers, each
question says why it cannot be reached. ``--model`` (any LiteLLM model string, its key from
the provider's usual environment variable) answers with a model; without it the offline planner.
"""

import argparse
import json
import os
import sys

import anyio
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

from aiops_mcp.client_demo.connection import Connection
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
    """Run the terminal chat (or the web page) until the user leaves; 1 when the server cannot be
    reached at the start. A server lost later is reconnected (see `ChatSession`)."""

    async def chat() -> int:
        try:
            async with Connection.open(server_target(args.url), token=args.token) as connection:
                session = ChatSession(connection, args.model)
                if args.web:
                    await serve_web(session, args.web_port, remote=args.url)
                else:
                    await repl(session.ask, session.mode)
        except HostDisconnected as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0

    try:
        return anyio.run(chat)
    except KeyboardInterrupt:  # Ctrl-C: the chat has stopped, the spawned server with it
        return 0


async def setup_notes(host: McpHost) -> list[str]:
    """What the page should say about the server's set-up: a kind of datasource it lacks."""
    try:
        listed = json.loads(await host.read_resource("aiops://datasources"))["datasources"]
    except (HostDisconnected, MCPError, ValueError, KeyError, TypeError):
        return ["the server's datasources could not be read"]
    kinds = {d.get("type") for d in listed if isinstance(d, dict)}
    wanted = (
        ("prometheus", "metrics are not configured (PROMETHEUS_URL)"),
        ("loki", "logs are not configured (LOKI_URL)"),
    )
    return [note for kind, note in wanted if kind not in kinds]


async def serve_web(session: ChatSession, port: int, *, remote: str | None = None) -> None:
    """The chat page on 127.0.0.1, recording the conversation in this machine's store (so it becomes
    a chat resource of every server using that store), until interrupted. `remote` is the URL of a
    server reached over HTTP: its own store is the same only when it uses the same DATABASE_URL."""
    from aiops_mcp.client_demo.web.app import StoreRecorder, build_chat_app, serve_chat_app
    from aiops_mcp.settings import Settings
    from aiops_mcp.store import open_store

    settings = Settings()
    async with await open_store(settings.database_url, settings.data_dir) as store:
        notes = await setup_notes(await session.host())
        app = build_chat_app(session.ask, session.mode, StoreRecorder(store), notes=notes)
        kept = f"chat history: saved in {store.url}"
        if remote:
            kept += f" (the server at {remote} lists it only if it uses the same DATABASE_URL)"

        def ready(url: str) -> None:
            print(kept, file=sys.stderr, flush=True)
            print(f"chat: {url} ({session.mode})", file=sys.stderr, flush=True)

        await serve_chat_app(app, port=port, on_ready=ready)
