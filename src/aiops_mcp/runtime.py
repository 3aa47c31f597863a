"""What tools, resources and prompts need at run time, behind one accessor.

`build_server` creates a `Runtime` in the server's lifespan; handlers reach it with `runtime(ctx)`.
Nothing here is global: each server (and each test) has its own.
"""

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cachetools import TTLCache
from mcp.server.mcpserver import Context

from aiops_mcp.datasources.registry import DatasourceRegistry
from aiops_mcp.settings import Settings
from aiops_mcp.telemetry import Telemetry


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ResultSpec:
    """Everything needed to re-run a query whose result was cut, to page through all of it."""

    kind: str  # "prometheus_range" | "prometheus_instant" | "loki_logs" | ...
    datasource: str
    query: str
    start: float | None = None
    end: float | None = None
    step: float | None = None
    extra: tuple[tuple[str, Any], ...] = ()


def log_cursor(timestamps_ns: Sequence[int]) -> str:
    """Where the next page of log lines starts: `{ns}-{k}`, k lines at exactly that ns already seen.

    Lines can share a nanosecond, and a page can end between them; counting them makes the next
    page neither repeat nor skip any.
    """
    last = timestamps_ns[-1]
    return f"{last}-{sum(1 for t in timestamps_ns if t == last)}"


def parse_log_cursor(cursor: str) -> tuple[int, int] | None:
    """`(ns, k)` from a cursor made by `log_cursor`, or None when it is not one."""
    ns, _, seen = cursor.partition("-")
    return (int(ns), int(seen)) if ns.isdigit() and seen.isdigit() else None


class ResultHandles:
    """Short ids for cut results, kept for an hour; a resource URI names one to read it in pages."""

    def __init__(self, ttl_seconds: float = 3600, capacity: int = 1024) -> None:
        self._specs: TTLCache[str, ResultSpec] = TTLCache(maxsize=capacity, ttl=ttl_seconds)

    def register(self, spec: ResultSpec) -> str:
        handle = secrets.token_urlsafe(9)
        self._specs[handle] = spec
        return handle

    def get(self, handle: str) -> ResultSpec | None:
        return self._specs.get(handle)

    def uri(self, spec: ResultSpec, cursor: str) -> str:
        """A resource URI for the page of `spec`'s full result that starts at `cursor`."""
        return f"aiops://results/{self.register(spec)}/{cursor}"


@dataclass
class Runtime:
    settings: Settings
    datasources: DatasourceRegistry
    telemetry: Telemetry
    handles: ResultHandles = field(default_factory=ResultHandles)
    now: Callable[[], datetime] = utc_now


def runtime(ctx: Context) -> Runtime:
    """The running server's `Runtime` (from its lifespan state)."""
    state = ctx.request_context.lifespan_context
    if not isinstance(state, Runtime):
        raise RuntimeError("server was not built by build_server(): no runtime in the lifespan state")
    return state
