"""`build_server(settings)`: the MCP server with its tools, resources and prompts, and its lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer

from aiops_mcp import __version__
from aiops_mcp.datasources.registry import DatasourceRegistry
from aiops_mcp.prompts import incident
from aiops_mcp.resources import alerts, audit, catalog, chats, results
from aiops_mcp.resources.notify import ResourceNotifier
from aiops_mcp.runtime import Runtime
from aiops_mcp.security.middleware import AccessMiddleware
from aiops_mcp.settings import Settings
from aiops_mcp.telemetry import Telemetry
from aiops_mcp.tools import context, events, health, impact, logs, metrics, translate

INSTRUCTIONS = """\
Incident-response data: Prometheus metrics (PromQL) and Loki logs (LogQL), and resources for
the AIOps engine's memory: aiops://alerts (recent alerts; subscribe for new ones), aiops://apps
(application profiles), aiops://datasources, aiops://chats/{id}.
For questions about an application or incident, start with the answer tools, which compute
verdicts from the app's profile: app_health (healthy yesterday?), app_events (how many events?),
incident_impact (was the server impacted?), investigation_context (everything about an alert).
For anything else, discover names first (prometheus_find_metrics, prometheus_list_labels,
loki_list_labels), then query. Every result states the exact query, datasource and window it
came from: cite them. Results are bounded: series are ranked largest first with exact statistics
over every sample; when something was cut, the result says how much and gives a resource URI to
page through it.
Times are UTC unless a zone is given."""


@asynccontextmanager
async def background(rt: Runtime) -> AsyncIterator[None]:
    """The runtime's background work (writing the audit log) for the duration of the block."""
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(rt.access.auditor.run)
        try:
            yield
        finally:
            tasks.cancel_scope.cancel()


def build_runtime(settings: Settings, telemetry: Telemetry | None = None) -> Runtime:
    """The dependencies one server uses: datasources from the settings, telemetry, result handles."""
    telemetry = telemetry or Telemetry()
    registry = DatasourceRegistry(settings.env_datasources(), observe=telemetry.observe_query)
    return Runtime(settings=settings, datasources=registry, telemetry=telemetry)


def build_server(
    settings: Settings,
    runtime: Runtime | None = None,
    notifier: ResourceNotifier | None = None,
    *,
    auth: AuthSettings | None = None,
    token_verifier: TokenVerifier | None = None,
) -> MCPServer[Runtime]:
    """A fully registered server. Pass `runtime` to share one (and its clients) with the HTTP routes,
    `notifier` to tell subscribed clients of resource changes made outside MCP (the webhook), and
    `auth` with `token_verifier` to require bearer tokens on streamable HTTP."""
    shared = runtime or build_runtime(settings)
    notifier = notifier or ResourceNotifier()

    @asynccontextmanager
    async def lifespan(_: MCPServer[Runtime]) -> AsyncIterator[Runtime]:
        if runtime is not None:  # shared with the HTTP app, whose lifespan runs and closes it
            yield shared
            return
        try:
            async with background(shared):
                yield shared
        finally:
            await shared.aclose()

    server: MCPServer[Runtime] = MCPServer(
        "aiops-mcp",
        title="AIOps incident data",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        log_level=settings.log_level.upper(),  # type: ignore[arg-type]
        subscriptions=notifier.bus,
        middleware=[AccessMiddleware(shared.access)],
        auth=auth,
        token_verifier=token_verifier,
    )
    families = (
        metrics,
        logs,
        health,
        events,
        impact,
        context,
        translate,
        results,
        alerts,
        chats,
        catalog,
        audit,
        incident,
    )
    for family in families:
        family.register(server)
    notifier.install(server)
    server.completion()(catalog.completer(shared))
    return server
