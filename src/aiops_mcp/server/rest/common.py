"""What every REST route shares: the route table entry, admin auth, audit, errors as JSON.

Every route needs a bearer token with the `admin` scope (`aiops-mcp token create NAME --scope
admin`) or `AIOPS_MCP_ADMIN_TOKEN`; the call runs as that token (a token with `label:` scopes
sees only its labels) and is written to the audit log.
Errors answer `{"error": "...", "fields": {...}}` with the status a client can act on:
400 bad JSON (or nested deeper than `MAX_BODY_DEPTH`) or a bad query (with the parser's message),
401 missing or unknown token, 403 a token without the admin scope, 404 what was not found,
409 duplicate name, 413 a body larger than `MAX_BODY_BYTES`, 422 field errors, 502 the datasource
answered badly or refused our credentials, 503 a datasource or the store cannot be reached.
No message carries a secret: datasource and store errors are written without credentials, and
validation errors never echo the input.
"""

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from aiops_mcp.datasources.errors import (
    AuthenticationFailed,
    DatasourceError,
    DatasourceUnavailable,
    QueryRejected,
)
from aiops_mcp.datasources.registry import UnknownDatasource
from aiops_mcp.query.errors import QueryInputError
from aiops_mcp.runtime import Runtime
from aiops_mcp.security.context import acting_as
from aiops_mcp.security.scopes import Principal
from aiops_mcp.security.tokens import bearer_principal
from aiops_mcp.store import InvalidInput, StoreError

logger = logging.getLogger(__name__)
Handler = Callable[[Request, Runtime], Awaitable[Response]]
M = TypeVar("M", bound=BaseModel)
MAX_BODY_BYTES = 1024 * 1024
"""Largest request body read; a larger one is refused (413) without being read to its end."""
MAX_BODY_DEPTH = 32
"""Deepest nesting of arrays and objects in a body. Deeper ones are refused before anything is
stored: they may not even parse, and what is stored must be answered again (pydantic stops
writing JSON beyond 255 levels)."""
UNAUTHENTICATED = (
    "send 'Authorization: Bearer <token>' with a token of the admin scope "
    "(aiops-mcp token create NAME --scope admin) or AIOPS_MCP_ADMIN_TOKEN"
)


class ErrorOut(BaseModel):
    """Every error answer."""

    error: str
    fields: dict[str, str] | None = Field(default=None, description="Field path -> problem (422 only).")


class ApiError(Exception):
    """An answer other than success: HTTP status, message, and field errors for 422."""

    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.fields = status, message, fields


@dataclass(frozen=True)
class Param:
    """A query-string parameter, for the OpenAPI document."""

    name: str
    description: str
    type: str = "string"


@dataclass(frozen=True)
class Endpoint:
    """One route: method, path, handler and what the OpenAPI document says about it."""

    method: str
    path: str
    handler: Handler
    summary: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    many: bool = False
    status: int = 200
    params: tuple[Param, ...] = field(default=())


def json_answer(model: BaseModel | list[Any] | None, status: int = 200) -> Response:
    """A model (or list of models) as JSON; None as an empty answer (204)."""
    if model is None:
        return Response(status_code=204)
    if isinstance(model, list):
        return JSONResponse([m.model_dump(mode="json") for m in model], status_code=status)
    return JSONResponse(model.model_dump(mode="json"), status_code=status)


def field_errors(error: ValidationError) -> dict[str, str]:
    """Each failing field's dotted path and message (never the input value)."""
    out: dict[str, str] = {}
    for item in error.errors(include_url=False, include_input=False, include_context=False):
        out.setdefault(".".join(str(p) for p in item["loc"]) or "body", item["msg"])
    return out


async def read_body(request: Request, model: type[M], defaults: dict[str, Any] | None = None) -> M:
    """The request's JSON body as ``model`` (``defaults`` fill missing keys); 400, 413 or 422 otherwise."""
    raw = await _read_limited(request)
    too_deep = ApiError(400, f"the request body nests arrays and objects deeper than {MAX_BODY_DEPTH} levels")
    try:
        data = json.loads(raw or b"null")
    except RecursionError:
        raise too_deep from None
    except ValueError:
        raise ApiError(400, "the request body is not valid JSON") from None
    if json_depth(data) > MAX_BODY_DEPTH:
        raise too_deep
    if not isinstance(data, dict):
        raise ApiError(422, "the request body must be a JSON object", {"body": "expected an object"})
    try:
        return model.model_validate({**(defaults or {}), **data})
    except ValidationError as error:
        raise ApiError(422, f"invalid {model.__name__}", field_errors(error)) from None


async def _read_limited(request: Request) -> bytes:
    """The body, read up to `MAX_BODY_BYTES` (checked while reading, not only by header)."""
    too_large = ApiError(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise too_large
    except ClientDisconnect:
        raise ApiError(400, "the client disconnected before sending the whole body") from None
    return bytes(body)


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest in a parsed JSON value (0 for a scalar), without recursing."""
    deepest, pending = 0, [(value, 0)]
    while pending:
        node, depth = pending.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is not None:
            deepest = max(deepest, depth + 1)
            pending.extend((child, depth + 1) for child in children)
    return deepest


async def admin_principal(request: Request, runtime: Runtime) -> Principal:
    """The caller, when its bearer token has the admin scope; 401 or 403 otherwise."""
    principal = await bearer_principal(request.headers.get("authorization", ""), runtime.access.tokens)
    if principal is None:
        raise ApiError(401, f"missing or unknown bearer token: {UNAUTHENTICATED}")
    if not principal.admin:
        raise ApiError(403, f"token {principal.name!r} lacks the 'admin' scope")
    return principal


def as_api_error(exc: Exception) -> ApiError | None:
    """The answer for a known failure below the API; None for a bug."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, InvalidInput):
        return ApiError(422, str(exc), exc.errors)
    if isinstance(exc, StoreError):
        return ApiError(503, f"the store is unavailable: {exc}")
    if isinstance(exc, QueryInputError):
        return ApiError(400, str(exc))
    if isinstance(exc, UnknownDatasource):
        return ApiError(404, exc.message)
    if isinstance(exc, AuthenticationFailed):
        return ApiError(502, f"{exc} (the datasource refused our credentials)")
    if isinstance(exc, QueryRejected):
        return ApiError(400, f"the datasource rejected the query: {exc}")
    if isinstance(exc, DatasourceUnavailable):
        return ApiError(503, f"datasource unavailable: {exc}")
    if isinstance(exc, DatasourceError):
        return ApiError(502, f"datasource error: {exc}")
    return None


def guarded(handler: Handler, runtime: Runtime) -> Callable[[Request], Awaitable[Response]]:
    """``handler`` behind the admin token, with failures answered as `ErrorOut` JSON."""

    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        principal: Principal | None = None
        response: Response | None = None
        try:
            principal = await admin_principal(request, runtime)
            with acting_as(principal):
                response = await handler(request, runtime)
            return response
        except Exception as exc:
            error = as_api_error(exc)
            if error is None:
                logger.exception("REST %s %s failed", request.method, request.url.path)
                error = ApiError(500, "internal error (see the server log)")
            headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
            body = ErrorOut(error=error.message, fields=error.fields).model_dump(exclude_none=True)
            response = JSONResponse(body, status_code=error.status, headers=headers)
            return response
        finally:
            if principal is not None:  # unauthenticated calls are refused before doing anything
                runtime.access.auditor.add(
                    actor=principal.name,
                    action="rest",
                    target=f"{request.method} {request.url.path}",
                    arguments=dict(request.query_params),
                    status=str(response.status_code if response is not None else 500),
                    duration_ms=(time.perf_counter() - started) * 1000,
                    result_bytes=len(getattr(response, "body", b"") or b""),
                )

    return endpoint
