"""What every REST route shares: the route table entry, admin-token auth, errors as JSON.

Errors answer `{"error": "...", "fields": {...}}` with the status a client can act on:
400 bad JSON or a bad query (with the parser's message), 401 missing or wrong token, 403 API
disabled (no AIOPS_MCP_ADMIN_TOKEN), 404 what was not found, 409 duplicate name, 422 field
errors, 502 the datasource answered badly or refused our credentials, 503 a datasource or the
store cannot be reached. No message carries a secret: datasource and store errors are written
without credentials, and validation errors never echo the input.
"""

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request
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
from aiops_mcp.store import InvalidInput, StoreError

logger = logging.getLogger(__name__)
Handler = Callable[[Request, Runtime], Awaitable[Response]]
M = TypeVar("M", bound=BaseModel)
DISABLED = (
    "the management API is disabled: set AIOPS_MCP_ADMIN_TOKEN to a long random secret, "
    "then send it as 'Authorization: Bearer <token>'"
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
    """The request's JSON body as ``model`` (``defaults`` fill missing keys); 400 or 422 otherwise."""
    try:
        data = json.loads(await request.body() or b"null")
    except ValueError:
        raise ApiError(400, "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(422, "the request body must be a JSON object", {"body": "expected an object"})
    try:
        return model.model_validate({**(defaults or {}), **data})
    except ValidationError as error:
        raise ApiError(422, f"invalid {model.__name__}", field_errors(error)) from None


def check_token(request: Request, runtime: Runtime) -> None:
    """403 when no admin token is configured, 401 unless the request carries it (constant time)."""
    token = runtime.settings.admin_token
    if token is None or not token.get_secret_value():
        raise ApiError(403, DISABLED)
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        raise ApiError(
            401, "missing or wrong admin token: send 'Authorization: Bearer <AIOPS_MCP_ADMIN_TOKEN>'"
        )


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
        try:
            check_token(request, runtime)
            return await handler(request, runtime)
        except Exception as exc:
            error = as_api_error(exc)
            if error is None:
                logger.exception("REST %s %s failed", request.method, request.url.path)
                error = ApiError(500, "internal error (see the server log)")
            headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
            body = ErrorOut(error=error.message, fields=error.fields).model_dump(exclude_none=True)
            return JSONResponse(body, status_code=error.status, headers=headers)

    return endpoint
