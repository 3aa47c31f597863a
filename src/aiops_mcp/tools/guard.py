"""One wrapper for every tool: errors the model can act on, and per-tool telemetry."""

import functools
import time
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from aiops_mcp.datasources.errors import (
    AuthenticationFailed,
    DatasourceError,
    DatasourceUnavailable,
    QueryRejected,
)
from aiops_mcp.query.errors import QueryInputError
from aiops_mcp.runtime import runtime

P = ParamSpec("P")
R = TypeVar("R")


def explain(exc: Exception) -> str:
    """The message a model sees: what failed, where, and what to do about it."""
    if isinstance(exc, AuthenticationFailed):
        return f"{exc} (the datasource refused our credentials; an operator must fix its configuration)"
    if isinstance(exc, QueryRejected):
        return f"the datasource rejected the query: {exc}"
    if isinstance(exc, DatasourceUnavailable):
        return f"datasource unavailable: {exc}. Retry later; other datasources may still answer."
    return str(exc)


def guarded(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Turn input and datasource errors into tool errors, and time every call.

    The wrapped tool must take its `Context` as the keyword argument `ctx`.
    """

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        ctx = kwargs.get("ctx")
        started = time.perf_counter()
        status = "error"
        try:
            result = await fn(*args, **kwargs)
            status = "ok"
            return result
        except (QueryInputError, DatasourceError) as exc:
            raise ToolError(explain(exc)) from exc
        finally:
            if isinstance(ctx, Context):
                runtime(ctx).telemetry.observe_tool(fn.__name__, status, time.perf_counter() - started)

    return wrapper
