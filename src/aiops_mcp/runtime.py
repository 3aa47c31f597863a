"""What tools, resources and prompts need at run time, behind one accessor.

`build_server` creates a `Runtime` in the server's lifespan; handlers reach it with `runtime(ctx)`.
Nothing here is global: each server (and each test) has its own.
"""

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio
from cachetools import TTLCache
from mcp.server.mcpserver import Context

from aiops_mcp.datasources.config import DatasourceType
from aiops_mcp.datasources.loki import LokiClient
from aiops_mcp.datasources.prometheus import PrometheusClient
from aiops_mcp.datasources.registry import DatasourceRegistry
from aiops_mcp.security.access import Access
from aiops_mcp.security.context import current_principal
from aiops_mcp.settings import Settings
from aiops_mcp.telemetry import Telemetry

if TYPE_CHECKING:
    from aiops_mcp.store import Store

logger = logging.getLogger(__name__)


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
    return (int(ns), int(seen)) if f"{ns}{seen}".isascii() and ns.isdigit() and seen.isdigit() else None


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
    """Settings, datasource clients, telemetry, result handles, security, and the store (opened
    on first use).

    The store is opened lazily: tools over Prometheus and Loki configured by environment never
    wait for (or depend on) the database, so start-up stays fast and a lost database does not
    stop them. Datasources stored in the database join the registry when the store opens, or
    when a tool names one the environment does not configure.
    """

    settings: Settings
    datasources: DatasourceRegistry
    telemetry: Telemetry
    handles: ResultHandles = field(default_factory=ResultHandles)
    now: Callable[[], datetime] = utc_now
    translations: TTLCache[Any, Any] = field(default_factory=lambda: TTLCache(maxsize=512, ttl=300))
    access: Access = field(init=False)
    _store: "Store | None" = None
    _store_lock: anyio.Lock = field(default_factory=anyio.Lock)

    def __post_init__(self) -> None:
        self.access = Access.from_settings(self.settings, self._open_store)

    async def store(self) -> "Store":
        """The store as the current caller may see it (`security.confined_store`), opened and
        migrated on first use (`StoreUnavailable` when it cannot be)."""
        from aiops_mcp.security.confined_store import confined

        return confined(await self._open_store(), current_principal())

    async def _open_store(self) -> "Store":
        async with self._store_lock:
            if self._store is None:
                from aiops_mcp.store import open_store  # SQLAlchemy is imported only when needed

                store = await open_store(self.settings.database_url, self.settings.data_dir)
                for config in await store.datasources.enabled_configs():
                    if config.name not in {c.name for c in self.datasources.configs()}:
                        self.datasources.add(config)
                self._store = store
        return self._store

    async def prometheus(self, name: str | None = None) -> PrometheusClient:
        """The named (or default) Prometheus client, as the current caller may use it (confined to
        its labels, redacted); looks in the store when the name is not known."""
        await self._know("prometheus", name)
        return self.access.confine(self.datasources.prometheus(name), current_principal())

    async def loki(self, name: str | None = None) -> LokiClient:
        """The named (or default) Loki client, as the current caller may use it (confined to its
        labels, redacted, within the log-bytes limit); looks in the store when the name is not known."""
        await self._know("loki", name)
        return self.access.confine(self.datasources.loki(name), current_principal())

    async def _know(self, kind: DatasourceType, name: str | None) -> None:
        if self._store is not None or self.datasources.has(kind, name):
            return
        from aiops_mcp.store import StoreError

        try:
            await self._open_store()
        except StoreError as exc:
            logger.warning("stored datasources unavailable: %s", exc)

    async def aclose(self) -> None:
        await self.access.auditor.flush()
        await self.datasources.aclose()
        if self._store is not None:
            await self._store.aclose()
            self._store = None


def runtime(ctx: Context) -> Runtime:
    """The running server's `Runtime` (from its lifespan state)."""
    state = ctx.request_context.lifespan_context
    if not isinstance(state, Runtime):
        raise RuntimeError("server was not built by build_server(): no runtime in the lifespan state")
    return state
