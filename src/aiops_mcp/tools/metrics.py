"""Prometheus tools: PromQL instant and range queries, metric and label discovery."""

from collections.abc import Awaitable
from typing import Annotated, TypeVar

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult
from pydantic import Field

from aiops_mcp.datasources.errors import DatasourceError, ResponseTooLarge
from aiops_mcp.datasources.models import QueryData
from aiops_mcp.datasources.prometheus import MetricMetadata, PrometheusClient, format_seconds
from aiops_mcp.datasources.stale import collect_stale
from aiops_mcp.query.errors import QueryInputError
from aiops_mcp.query.promql import validate_promql
from aiops_mcp.query.step import format_duration
from aiops_mcp.query.timerange import parse_instant
from aiops_mcp.runtime import ResultSpec, Runtime, runtime
from aiops_mcp.tools.arguments import (
    Datasource,
    LabelArg,
    LimitArg,
    PointsArg,
    PromQL,
    Step,
    TimeRangeText,
    TimeText,
    parse_window,
    range_window,
)
from aiops_mcp.tools.contract import Provenance, Status, iso, tool_result
from aiops_mcp.tools.guard import guarded
from aiops_mcp.tools.registration import add_tools
from aiops_mcp.tools.shaping import (
    MetricResult,
    NamesResult,
    mark_stale,
    metric_result,
    names_result,
    render_metric,
    render_names,
)

T = TypeVar("T")


def with_handle(rt: Runtime, result: MetricResult, spec: ResultSpec) -> MetricResult:
    """Attach a handle to page through every series when some were cut."""
    if result.status == Status.TRUNCATED:
        result.more = rt.handles.uri(spec, "0")
    return result


def series_answer(rt: Runtime, result: MetricResult) -> CallToolResult:
    """The tool result: the model, rendered within the text budget."""
    return tool_result(result, render_metric(result, rt.settings.max_result_bytes))


def shaped(rt: Runtime, data: QueryData, provenance: Provenance, points: int | None) -> MetricResult:
    """Series ranked, capped and summarised within the configured budgets."""
    return metric_result(
        data,
        provenance,
        max_series=rt.settings.max_series,
        max_results=rt.settings.max_query_results,
        max_points=points or rt.settings.max_points,
    )


async def range_query(
    rt: Runtime,
    query: str,
    *,
    time_range: str = "last 1h",
    start: str | None = None,
    end: str | None = None,
    step: str | None = None,
    points: int | None = None,
    datasource: str | None = None,
) -> MetricResult:
    """PromQL over a range, bounded and grounded: the core of prometheus_query_range (and REST)."""
    info = validate_promql(query)
    if info.value_type == "matrix":
        raise QueryInputError(
            "a range query needs an expression that returns an instant vector; "
            f"wrap the range selector in a function such as rate(...) or avg_over_time(...): {query}"
        )
    lo, hi, step_s = range_window(rt, parse_window(rt, time_range, start, end), step)
    client = await rt.prometheus(datasource)
    with collect_stale() as stale:
        try:
            data = await client.query_range(info.normalised, lo, hi, step_s)
        except ResponseTooLarge as too_large:
            return await largest_only(rt, client, info.normalised, (lo, hi, step_s), points, too_large)
    provenance = Provenance(
        datasource=client.name,
        datasource_type="prometheus",
        query=info.normalised,
        start=iso(lo),
        end=iso(hi),
        step_seconds=step_s,
    )
    spec = ResultSpec("prometheus_range", client.name, info.normalised, lo, hi, step_s)
    result = with_handle(rt, shaped(rt, data, provenance, points), spec)
    mark_stale(result, stale)
    return result


async def largest_only(
    rt: Runtime,
    client: PrometheusClient,
    query: str,
    window: tuple[float, float, float],
    points: int | None,
    too_large: ResponseTooLarge,
) -> MetricResult:
    """When every series would pass the response cap: the `MAX_SERIES` largest by their maximum
    over the window (asked of Prometheus with topk over a subquery), with exact statistics, and
    the exact number of series (a count over the same subquery)."""
    lo, hi, step = window
    k = rt.settings.max_series
    over = f"[{format_duration(hi - lo)}:{format_duration(step)}] @ {format_seconds(hi)}"
    largest = f"({query}) and topk({k}, max_over_time(({query}){over}))"
    counted = f"count(max_over_time(({query}){over}))"
    data = await client.query_range(largest, lo, hi, step)
    total = await client.query(counted, hi)
    provenance = Provenance(
        datasource=client.name,
        datasource_type="prometheus",
        query=largest,
        start=iso(lo),
        end=iso(hi),
        step_seconds=step,
    )
    result = shaped(rt, data, provenance, points)
    count = int(total.series[0].values[-1]) if total.series else len(data.series)
    result.series_omitted += max(0, count - result.series_total)
    result.series_total = max(count, result.series_total)
    result.status = Status.TRUNCATED if result.series_omitted else result.status
    result.warnings.append(
        f"every series would pass the response cap ({too_large.message.split(';')[0]}): the {k} largest "
        f"by their maximum are shown with exact statistics, of {count:,} series ({counted})"
    )
    return result


@guarded
async def prometheus_query(
    query: PromQL,
    ctx: Context,
    time: TimeText = None,
    datasource: Datasource = None,
) -> Annotated[CallToolResult, MetricResult]:
    """Evaluate PromQL at one instant (default: now): current values, ratios, top-k.

    For trends over time use prometheus_query_range. Unsure of metric names? Call
    prometheus_find_metrics first. Returns the largest series first (capped), with the exact query."""
    rt = runtime(ctx)
    info = validate_promql(query)
    at = parse_instant(time, now=rt.now()).timestamp()
    client = await rt.prometheus(datasource)
    with collect_stale() as stale:
        data = await client.query(info.normalised, at)
    provenance = Provenance(
        datasource=client.name, datasource_type="prometheus", query=info.normalised, time=iso(at)
    )
    spec = ResultSpec("prometheus_instant", client.name, info.normalised, end=at)
    result = with_handle(rt, shaped(rt, data, provenance, 1), spec)
    mark_stale(result, stale)
    return series_answer(rt, result)


@guarded
async def prometheus_query_range(
    query: PromQL,
    ctx: Context,
    time_range: TimeRangeText = "last 1h",
    start: TimeText = None,
    end: TimeText = None,
    step: Step = None,
    points: PointsArg = None,
    datasource: Datasource = None,
) -> Annotated[CallToolResult, MetricResult]:
    """Evaluate PromQL over a time range: trends, spikes, what happened when an alert fired.

    Each series comes with min/max/mean/p95/last and time of max computed from every sample,
    plus a short preview; the largest series first, capped, with a handle to page the rest."""
    rt = runtime(ctx)
    result = await range_query(
        rt,
        query,
        time_range=time_range,
        start=start,
        end=end,
        step=step,
        points=points,
        datasource=datasource,
    )
    return series_answer(rt, result)


@guarded
async def prometheus_find_metrics(
    ctx: Context,
    search: Annotated[
        str | None, Field(description="Case-insensitive part of the name, e.g. 'http'.")
    ] = None,
    limit: Annotated[int, Field(ge=1, le=500)] = 50,
    datasource: Datasource = None,
) -> Annotated[CallToolResult, NamesResult]:
    """Find metric names (with type and help text) before writing PromQL. Call this first."""
    rt = runtime(ctx)
    client = await rt.prometheus(datasource)
    needle = (search or "").lower()
    warnings: list[str] = []
    metadata: list[MetricMetadata] = []

    async def describe() -> None:  # asked beside the names: one round trip, not two
        try:
            metadata.extend((await client.metadata()).items)
        except DatasourceError as exc:  # the names are the answer; their descriptions are a bonus
            warnings.append(f"types and help texts unavailable: {exc}")

    with collect_stale() as stale:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(describe)
            names = await _outcome(client.metric_names())
            if isinstance(names, Exception):
                tasks.cancel_scope.cancel()
    if isinstance(names, Exception):
        raise names
    matched = [n for n in names.items if needle in n.lower()]
    described = {m.metric: f"{m.type}: {m.help}" for m in metadata}
    what = "metrics" + (f" matching {search!r}" if search else "")
    result = names_result(client.name, what, matched, limit, described)
    result.warnings = warnings
    mark_stale(result, stale)
    return tool_result(result, render_names(result, rt.settings.max_result_bytes))


async def _outcome(call: Awaitable[T]) -> T | Exception:
    """The call's value, or the exception it raised (raised outside a task group, it stays itself)."""
    try:
        return await call
    except Exception as exc:
        return exc


@guarded
async def prometheus_list_labels(
    ctx: Context,
    label: LabelArg = None,
    match: Annotated[
        str | None, Field(description='Series selector to filter by, e.g. up{job="api"}.')
    ] = None,
    time_range: TimeRangeText = "last 1h",
    limit: LimitArg = 100,
    datasource: Datasource = None,
) -> Annotated[CallToolResult, NamesResult]:
    """List label names, or one label's values (e.g. label='app'), optionally for matching series only."""
    rt = runtime(ctx)
    selectors = [validate_promql(match).normalised] if match else []
    window = parse_window(rt, time_range, None, None)
    client = await rt.prometheus(datasource)
    with collect_stale() as stale:
        if label:
            listing = await client.label_values(label, selectors, window.start_ts, window.end_ts)
            what = f"values of {label}"
        else:
            listing = await client.labels(selectors, window.start_ts, window.end_ts)
            what = "label names"
    result = names_result(client.name, what + (f" for {match}" if match else ""), listing.items, limit)
    mark_stale(result, stale)
    return tool_result(result, render_names(result, rt.settings.max_result_bytes))


def register(server: MCPServer) -> None:
    add_tools(
        server, prometheus_query, prometheus_query_range, prometheus_find_metrics, prometheus_list_labels
    )
