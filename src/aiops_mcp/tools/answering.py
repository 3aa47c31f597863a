"""What the answer tools (health, events, impact, context) share: the application's profile, and
named sub-queries run in parallel where one failing leaves the others (the answer is then partial).
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

import anyio
from mcp.server.mcpserver.exceptions import ToolError

from aiops_mcp.datasources.errors import DatasourceError
from aiops_mcp.query.errors import QueryInputError
from aiops_mcp.query.promql import selector
from aiops_mcp.query.step import auto_step, format_duration
from aiops_mcp.runtime import Runtime
from aiops_mcp.translate.templates import Names

if TYPE_CHECKING:
    from aiops_mcp.store.models import ApplicationProfile

T = TypeVar("T")


async def find_profile(rt: Runtime, app: str) -> "ApplicationProfile":
    """The app's profile (by name or alias); a tool error listing the known apps, closest first."""
    from aiops_mcp.store import NotFound, StoreError

    try:
        return await (await rt.store()).profiles.require(app)
    except NotFound as error:
        raise ToolError(str(error)) from None
    except StoreError as error:
        raise ToolError(f"the AIOps store is unavailable: {error}") from None


def profile_labels(profile: "ApplicationProfile", kind: Literal["metrics", "logs"]) -> dict[str, str]:
    """The labels that select the app's series (``metrics``) or log streams (``logs``); may be empty."""
    mapped = (profile.service_mappings or {}).get(kind) or {}
    return {str(k): str(v) for k, v in mapped.items()}


@dataclass(frozen=True, slots=True)
class AppSelectors:
    """PromQL selectors of an app's standard series, from its labels and the profile's default
    metrics (a ``*requests_total`` counter and a ``*_bucket`` latency histogram, else the usual names)."""

    up: str
    requests: str
    errors: str
    buckets: str

    @classmethod
    def of(cls, labels: dict[str, str], default_metrics: list[str]) -> "AppSelectors":
        names = Names.of(default_metrics)
        requests = selector(names.requests, labels)
        return cls(
            up=selector("up", labels),
            requests=requests,
            errors=f'{requests[:-1]},status=~"5.."}}',
            buckets=selector(names.buckets, labels),
        )


def resolution(rt: Runtime, seconds: float, max_points: int) -> tuple[float, str]:
    """The step for a range of `seconds` (at least the scrape interval) and the rate window to use
    with it: the step, but at least two scrape intervals so that every window holds two samples."""
    scrape = rt.settings.prometheus_scrape_interval_seconds
    step = auto_step(seconds, max_points, scrape)
    return step, format_duration(max(step, 2 * scrape))


@dataclass
class Gathered(Generic[T]):
    """Results by name; a failed part is absent from `values` and explained in `failures`."""

    values: dict[str, T] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    errors: list[Exception] = field(default_factory=list)

    def get(self, name: str) -> T | None:
        return self.values.get(name)


async def gather(calls: Mapping[str, Callable[[], Awaitable[T]]]) -> Gathered[T]:
    """Run every call concurrently. Datasource, input and store errors are kept per name (the
    others still answer); when every call failed the first error is raised."""
    from aiops_mcp.store import StoreError

    out: Gathered[T] = Gathered()

    async def run(name: str, call: Callable[[], Awaitable[T]]) -> None:
        try:
            out.values[name] = await call()
        except (DatasourceError, QueryInputError, StoreError) as error:
            out.failures[name] = str(error)
            out.errors.append(error)

    async with anyio.create_task_group() as group:
        for name, call in calls.items():
            group.start_soon(run, name, call)
    if calls and len(out.errors) == len(calls):
        error = out.errors[0]
        if isinstance(error, StoreError):
            raise ToolError(f"the AIOps store is unavailable: {error}") from None
        raise error
    return out
