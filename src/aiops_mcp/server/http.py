"""The HTTP face of the server: streamable HTTP MCP at /mcp, /healthz, /metrics, and the
Alertmanager webhook at POST /alertmanager/webhook (`server.webhook`) and the management REST
API under /api (`server.rest`).

With authentication on (`auth_enabled`), /mcp takes bearer tokens from the store (and the admin
token), checked by the SDK's bearer middleware: a request without one is answered 401, a token
without the `read` scope 403. Requests whose Host or Origin is neither loopback nor the
configured public URL are refused (DNS-rebinding protection). /healthz and /metrics stay open:
they carry no data, only names and counts.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from urllib.parse import urlsplit

from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from aiops_mcp import __version__
from aiops_mcp.resources.notify import ResourceNotifier
from aiops_mcp.security.scopes import READ
from aiops_mcp.server import webhook
from aiops_mcp.server.app import background, build_runtime, build_server
from aiops_mcp.server.rest import rest_routes
from aiops_mcp.settings import Settings

LOOPBACK = ("127.0.0.1", "localhost", "::1")
_LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
_LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]


def auth_enabled(settings: Settings, host: str) -> bool:
    """Whether /mcp needs bearer tokens: `on`, or `auto` on anything but a loopback bind."""
    return settings.auth == "on" or (settings.auth == "auto" and host not in LOOPBACK)


def transport_security(settings: Settings, host: str) -> TransportSecuritySettings | None:
    """Hosts and origins /mcp accepts: loopback, the bind address, and the public URL's."""
    hosts, origins = list(_LOOPBACK_HOSTS), list(_LOOPBACK_ORIGINS)
    if settings.public_url:
        public = urlsplit(settings.public_url)
        hosts.append(public.netloc)
        origins.append(f"{public.scheme}://{public.netloc}")
    if host not in LOOPBACK and host not in ("0.0.0.0", "::"):
        hosts.append(f"{host}:*")
    elif host in ("0.0.0.0", "::") and not settings.public_url:
        return None  # any name may reach a wildcard bind: the caller warns (see cli.serve)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def build_http_app(settings: Settings, host: str = "127.0.0.1") -> Starlette:
    """One runtime shared by every MCP session and route; closed when the app shuts down."""
    runtime = build_runtime(settings)
    notifier = ResourceNotifier()
    secured = auth_enabled(settings, host)
    runtime.access.auth_required = secured
    auth = (
        AuthSettings(
            issuer_url=settings.public_url or f"http://{host}",  # type: ignore[arg-type]
            resource_server_url=None,
            required_scopes=[READ],
        )
        if secured
        else None
    )
    server = build_server(
        settings,
        runtime=runtime,
        notifier=notifier,
        auth=auth,
        token_verifier=runtime.access.tokens if secured else None,
    )
    mcp_app = server.streamable_http_app(
        streamable_http_path="/mcp", host=host, transport_security=transport_security(settings, host)
    )

    async def healthz(_: Request) -> JSONResponse:
        """Liveness, and each datasource's circuit: "degraded" while one is open."""
        breakers = runtime.datasources.breaker_states()
        sources = [
            {"name": c.name, "type": c.type, "circuit": asdict(breakers[c.name])}
            for c in runtime.datasources.configs()
        ]
        degraded = any(breaker.state != "closed" for breaker in breakers.values())
        return JSONResponse(
            {"status": "degraded" if degraded else "ok", "version": __version__, "datasources": sources}
        )

    async def metrics(_: Request) -> Response:
        return Response(runtime.telemetry.exposition(), media_type=runtime.telemetry.content_type)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with server.session_manager.run(), background(runtime):
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
