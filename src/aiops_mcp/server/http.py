"""The HTTP face of the server: streamable HTTP MCP at /mcp, /healthz, /metrics, and the
Alertmanager webhook at POST /alertmanager/webhook (`server.webhook`) and the management REST
API under /api (`server.rest`)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from aiops_mcp import __version__
from aiops_mcp.resources.notify import ResourceNotifier
from aiops_mcp.server import webhook
from aiops_mcp.server.app import build_runtime, build_server
from aiops_mcp.server.rest import rest_routes
from aiops_mcp.settings import Settings


def build_http_app(settings: Settings, host: str = "127.0.0.1") -> Starlette:
    """One runtime shared by every MCP session and route; closed when the app shuts down."""
    runtime = build_runtime(settings)
    notifier = ResourceNotifier()
    server = build_server(settings, runtime=runtime, notifier=notifier)
    mcp_app = server.streamable_http_app(streamable_http_path="/mcp", host=host)

    async def healthz(_: Request) -> JSONResponse:
        sources = [{"name": c.name, "type": c.type} for c in runtime.datasources.configs()]
        return JSONResponse({"status": "ok", "version": __version__, "datasources": sources})

    async def metrics(_: Request) -> Response:
        return Response(runtime.telemetry.exposition(), media_type=runtime.telemetry.content_type)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with server.session_manager.run():
            try:
                yield
            finally:
                await runtime.aclose()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route(webhook.PATH, webhook.webhook_endpoint(runtime, notifier), methods=["POST"]),
        *rest_routes(runtime),
        Mount("/", app=mcp_app),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
