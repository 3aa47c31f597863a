"""The `aiops-mcp` command: `serve` (stdio or streamable HTTP), `doctor`, `chat` and management.

Settings are read here, once: environment first, flags on top. Logs go to stderr, because in
stdio mode stdout carries the protocol.
"""

import argparse
import logging
import os
import sys
from collections.abc import Sequence

import anyio

from aiops_mcp import __version__, manage
from aiops_mcp.settings import Settings


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="aiops-mcp", description="Incident-response data for MCP hosts.")
    parser.add_argument("--version", action="version", version=f"aiops-mcp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the MCP server (stdio by default)")
    serve.add_argument("--http", action="store_true", help="serve streamable HTTP at /mcp")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--auth",
        choices=["auto", "on", "off"],
        help="bearer tokens on /mcp (AIOPS_MCP_AUTH): auto (default) is on unless bound to loopback; "
        "off on a non-loopback bind serves everyone who can reach it",
    )
    serve.add_argument("--public-url", help="the URL hosts use to reach the server (AIOPS_MCP_PUBLIC_URL)")
    _backend_flags(serve)

    doctor = commands.add_parser("doctor", help="check every configured backend and say what works")
    _backend_flags(doctor)
    manage.add_commands(commands)

    chat = commands.add_parser("chat", help="chat with your incident data (terminal, or --web)")
    chat.add_argument("--model", help="LiteLLM model, e.g. openai/gpt-4o-mini (default: offline planner)")
    chat.add_argument("--url", help="an aiops-mcp server's streamable HTTP URL (default: spawn one)")
    chat.add_argument("--token", default=os.environ.get("AIOPS_MCP_TOKEN"), help="bearer token for --url")
    chat.add_argument("--web", action="store_true", help="serve the split-screen chat page instead")
    chat.add_argument("--web-port", type=int, default=8765, help="chat page port (default 8765; 0: any free)")
    return parser.parse_args(argv)


def _backend_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prometheus-url", help="overrides PROMETHEUS_URL")
    parser.add_argument("--loki-url", help="overrides LOKI_URL")
    parser.add_argument("--max-query-range-hours", type=float, help="overrides MAX_QUERY_RANGE_HOURS")


def settings_from(args: argparse.Namespace) -> Settings:
    overrides = {
        name: getattr(args, name)
        for name in ("prometheus_url", "loki_url", "max_query_range_hours", "auth", "public_url")
        if getattr(args, name, None) is not None
    }
    return Settings(**overrides)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = settings_from(args)
    logging.basicConfig(
        stream=sys.stderr,
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name in ("httpx", "httpx2", "alembic"):  # they log every request (or step) at INFO
        logging.getLogger(name).setLevel(logging.WARNING)
    if args.command == "doctor":
        from aiops_mcp.server.doctor import run_doctor

        return anyio.run(run_doctor, settings)
    if args.command == "demo" and args.action == "run":
        from aiops_mcp.demo.run import run_demo

        return run_demo(args, settings)
    if args.command in manage.COMMANDS:
        return manage.run(args, settings)
    if args.command == "chat":
        from aiops_mcp.client_demo.main import run_chat

        return run_chat(args)
    return serve(args, settings)


def store_problem(settings: Settings) -> str | None:
    """Why the configured database cannot be used, in one line; None when it can."""

    async def probe() -> str | None:
        from aiops_mcp.store import StoreError, open_store

        try:
            store = await open_store(settings.database_url, settings.data_dir)
        except StoreError as exc:
            return str(exc)
        await store.aclose()
        return None

    return anyio.run(probe)


def token_problem(settings: Settings) -> str | None:
    """Why nobody could connect with authentication on (no token exists); None when someone can."""
    if settings.admin_token is not None and settings.admin_token.get_secret_value():
        return None

    async def live_tokens() -> int:
        from aiops_mcp.store import open_store

        async with await open_store(settings.database_url, settings.data_dir) as store:
            return sum(1 for row in await store.tokens.list_all() if row.revoked_at is None)

    try:
        if anyio.run(live_tokens):
            return None
    except Exception as exc:
        return f"cannot read the tokens from the store: {exc}"
    return (
        "authentication is on and no token exists: create one with "
        "`aiops-mcp token create NAME --scope read`, or pass --auth off to serve without authentication"
    )


def serve(args: argparse.Namespace, settings: Settings) -> int:
    # The embedded SQLite store opens on first use; a configured database is checked up front,
    # so a wrong DATABASE_URL is one clear line at start rather than errors later.
    if settings.database_url and (problem := store_problem(settings)):
        print(f"error: {problem}", file=sys.stderr)
        return 1
    if not args.http:
        from aiops_mcp.server.app import build_server

        build_server(settings).run("stdio")
        return 0
    import uvicorn

    from aiops_mcp.server.http import LOOPBACK, auth_enabled, build_http_app

    log = logging.getLogger("aiops_mcp")
    if auth_enabled(settings, args.host):
        if problem := token_problem(settings):
            print(f"error: {problem}", file=sys.stderr)
            return 1
    elif args.host not in LOOPBACK:
        log.warning("serving on %s WITHOUT authentication (--auth off): anyone who can reach it can "
                    "query your backends", args.host)  # fmt: skip
    if args.host in ("0.0.0.0", "::") and not settings.public_url:
        log.warning("no --public-url: requests naming any host are accepted (no DNS-rebinding protection)")
    app = build_http_app(settings, host=args.host)
    uvicorn.run(app, host=args.host, port=args.port, log_level=settings.log_level.lower())
    return 0
