"""The REST API for people and the AIOps engine, next to MCP on the HTTP server.

    /api/grafana/datasources            POST create · GET list (no secrets)
    /api/grafana/datasources/{ref}      GET · PUT (fields not given are kept) · DELETE   (id or name)
    /api/applications                   POST · GET
    /api/applications/{ref}             GET · PUT (replace) · DELETE                     (id, name or alias)
    /api/grafana/query/prometheus       POST {query, time_range?, start?, end?, step?, datasource?}
    /api/grafana/query/loki             POST {... , limit?, direction?}
    /api/grafana/metrics/{ref}          GET  an application's default metrics (?time_range, start, end, step)
    /api/grafana/logs/{ref}             GET  an application's logs (?time_range, start, end, limit, contains)
    /api/openapi.json                   GET  this API's OpenAPI document

Every route needs `Authorization: Bearer <AIOPS_MCP_ADMIN_TOKEN>`; with no token configured the
API answers 403 (never open by default). Errors: see `common`; a method a route does not take is
answered 405 and a path under /api that is no route 404, as JSON too. A `{ref}` may hold any
text, even an encoded "/" (it is then not found).
"""

from collections.abc import Awaitable, Callable

from starlette.convertors import PathConvertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from aiops_mcp.runtime import Runtime
from aiops_mcp.server.rest import admin, queries
from aiops_mcp.server.rest.common import Endpoint, guarded
from aiops_mcp.server.rest.openapi import openapi_document

ENDPOINTS: list[Endpoint] = [*admin.ENDPOINTS, *queries.ENDPOINTS]


async def openapi(_: Request, __: Runtime) -> Response:
    """The OpenAPI document of every route here."""
    return JSONResponse(openapi_document([*ENDPOINTS, OPENAPI]))


ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
"""Every route takes every method, so that a wrong one is answered 405 in JSON here."""
OPENAPI = Endpoint("GET", "/api/openapi.json", openapi, "This API's OpenAPI document")


class AnyTextConvertor(PathConvertor):
    """Starlette's ``path`` convertor, but a newline (``%0A``) matches too: with ``.*`` such a
    path matched no REST route and fell through to the MCP app's plain-text 404."""

    regex = "[\\s\\S]*"


register_url_convertor("text", AnyTextConvertor())


def rest_routes(runtime: Runtime) -> list[BaseRoute]:
    """Starlette routes of the REST API over ``runtime`` (share the MCP server's runtime)."""
    by_path: dict[str, dict[str, Endpoint]] = {}
    for endpoint in [*ENDPOINTS, OPENAPI]:
        by_path.setdefault(endpoint.path, {})[endpoint.method] = endpoint
    routes: list[BaseRoute] = [
        Route(path.replace("{ref}", "{ref:text}"), _dispatch(methods, runtime), methods=ANY_METHOD)
        for path, methods in by_path.items()
    ]
    return [*routes, Route("/api/{rest:text}", _no_route, methods=ANY_METHOD)]


def _dispatch(methods: dict[str, Endpoint], runtime: Runtime) -> Callable[[Request], Awaitable[Response]]:
    handlers = {method: guarded(endpoint.handler, runtime) for method, endpoint in methods.items()}
    allowed = ", ".join(sorted({*handlers, *(["HEAD"] if "GET" in handlers else [])}))

    async def endpoint(request: Request) -> Response:
        handler = handlers.get("GET" if request.method == "HEAD" else request.method)
        if handler is None:
            body = {"error": f"{request.method} is not allowed on {request.url.path}; use {allowed}"}
            return JSONResponse(body, status_code=405, headers={"Allow": allowed})
        return await handler(request)

    return endpoint


async def _no_route(request: Request) -> Response:
    return JSONResponse({"error": f"no route {request.url.path}: see /api/openapi.json"}, status_code=404)
