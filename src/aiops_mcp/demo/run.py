"""`aiops-mcp demo run`: the whole product on one machine, for a first look.

It starts the demo stack (`aiops_mcp.demo.stack`: Prometheus with 72 h of generated history,
Alertmanager delivering to our webhook, the demo's own store in its data directory seeded with
profiles, alerts and a chat, and with LOKI_URL the world's logs pushed to that Loki), the MCP
server over streamable HTTP, and the chat web page, which is an MCP host over that server
(offline planner, or ``--model``). Everything listens on 127.0.0.1 and stops on Ctrl-C.
"""

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path

import anyio
import uvicorn

from aiops_mcp.demo.backends import free_port
from aiops_mcp.demo.stack import DemoStack, demo_stack
from aiops_mcp.settings import Settings

HOST = "127.0.0.1"


def run_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Start everything, print where it is, serve until interrupted."""
    mcp_port = args.mcp_port or free_port()
    with tempfile.TemporaryDirectory(prefix="aiops-demo-") as scratch:
        data_dir = args.data_dir or Path(scratch)
        say(f"starting Prometheus and Alertmanager with the demo world in {data_dir} ...")
        with demo_stack(data_dir, settings, mcp_port) as stack:
            alertmanager = stack.alertmanager.url if stack.alertmanager else "-"
            say(f"Prometheus {stack.prometheus.url}, Alertmanager {alertmanager}")
            hours = round((stack.world.end - stack.world.start).total_seconds() / 3600)
            say(f"world: {hours} h of generated history ending {stack.world.end.isoformat()}")
            say(f"store: {stack.settings.database_url}")
            if stack.logs is None:
                say("logs are not configured (set LOKI_URL to a Loki; docker-compose brings one)")
            else:
                say(stack.logs.describe(str(stack.settings.loki_url)))
            with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: the servers have stopped
                anyio.run(serve, stack, mcp_port, args.web_port, args.model)
    return 0


async def serve(stack: DemoStack, mcp_port: int, web_port: int, model: str | None) -> None:
    """The MCP server, then the chat page connected to it as a host; until cancelled."""
    from aiops_mcp.client_demo.connection import Connection
    from aiops_mcp.client_demo.main import setup_notes
    from aiops_mcp.client_demo.session import ChatSession
    from aiops_mcp.client_demo.web.app import StoreRecorder, build_chat_app, serve_chat_app
    from aiops_mcp.server.http import build_http_app
    from aiops_mcp.store import open_store

    config = uvicorn.Config(build_http_app(stack.settings), host=HOST, port=mcp_port, log_level="warning")
    mcp = uvicorn.Server(config)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(mcp.serve)
        while not mcp.started:  # uvicorn has no event to wait on  # noqa: ASYNC110
            await anyio.sleep(0.05)
        say(f"MCP server: http://{HOST}:{mcp_port}/mcp")
        async with (
            Connection.open(f"http://{HOST}:{mcp_port}/mcp") as connection,
            await open_store(stack.settings.database_url, stack.settings.data_dir) as store,
        ):
            chat = ChatSession(connection, model)
            notes = await setup_notes(await connection.host())
            app = build_chat_app(chat.ask, chat.mode, StoreRecorder(store), host=HOST, notes=notes)
            await serve_chat_app(
                app, host=HOST, port=web_port, on_ready=lambda url: say(f"chat: {url} ({chat.mode})")
            )
        mcp.should_exit = True


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
