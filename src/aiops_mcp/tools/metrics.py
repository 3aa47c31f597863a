"""Prometheus tools: PromQL instant and range queries, metric and label discovery."""

from datetime import timedelta
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import Field

from aiops_mcp.query.promql import validate_promql
from aiops_mcp.query.step import align_range, auto_step, parse_duration, validate_step
from aiops_mcp.query.timerange import TimeRange, parse_instant, parse_time_range
from aiops_mcp.runtime import ResultSpec, Runtime, runtime
from aiops_mcp.tools.contract import Provenance, Status, iso, tool_result
from aiops_mcp.tools.guard import guarded
from aiops_mcp.tools.registration import add_tools
from aiops_mcp.tools.shaping import (
    MetricResult,
    NamesResult,
    metric_result,
    names_result,
    render_metric,
    render_names,
)

PromQL = Annotated[
    str, Field(description="PromQL expression, e.g. sum by (app) (rate(http_requests_total[5m])).")
]
TimeRangeText = Annotated[
    str,
    Field(description="'last 24h', '2h', 'yesterday', 'today', 'since 14:00', or use start/end. UTC."),
]
TimeText = Annotated[str | None, Field(description="RFC 3339, unix seconds, 'now-1h', 'yesterday 14:30'.")]
Datasource = Annotated[str | None, Field(description="Datasource name; the default one if omitted.")]
PointsArg = Annotated[int | None, Field(ge=2, le=500, description="Preview points per series.")]
LabelArg = Annotated[str | None, Field(description="Give a label to list its values; omit for names.")]
LimitArg = Annotated[int, Field(ge=1, le=1000)]
Step = Annotated[str | None, Field(description="Resolution like '1m'; automatic if omitted.")]


def parse_window(rt: Runtime, text: str, start: str | None, end: str | None) -> TimeRange:
    """The user's range, checked against MAX_QUERY_RANGE_HOURS."""
    limit = timedelta(hours=rt.settings.max_query_range_hours)
    return parse_time_range(text, start=start, end=end, now=rt.now(), max_range=limit)


def range_window(rt: Runtime, window: TimeRange, step: str | None) -> tuple[float, float, float]:
    """Start, end and step, the range aligned to the step so repeated questions hit the cache."""
    seconds = parse_duration(step) if step else auto_step(window.seconds, rt.settings.query_max_points)
    validate_step(window.seconds, seconds)
    start, end = align_range(window.start_ts, window.end_ts, seconds)
    return start, end, seconds


def finish(rt: Runtime, result: MetricResult, spec: ResultSpec) -> CallToolResult:
    """Attach a paging handle when series were cut, then render within the text budget."""
    if result.status == Status.TRUNCATED:
        result.more = rt.handles.uri(spec, "0")
    return tool_result(result, render_metric(result, rt.settings.max_result_bytes))


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
    data = await client.query(info.normalised, at)
    provenance = Provenance(
        datasource=client.name, datasource_type="prometheus", query=info.normalised, time=_iso(at)
    )
    result = metric_result(
        data,
        provenance,
        max_series=rt.settings.max_series,
        max_results=rt.settings.max_query_results,
        max_points=1,
    )
    return finish(rt, result, ResultSpec("prometheus_instant", client.name, info.normalised, end=at))


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
    info = validate_promql(query)
    if info.value_type == "matrix":
        raise ToolError(
            "a range query needs an expression that returns an instant vector; "
            f"wrap the range selector in a function such as rate(...) or avg_over_time(...): {query}"
        )
    window = parse_window(rt, time_range, start, end)
    lo, hi, step_s = range_window(rt, window, step)
    client = await rt.prometheus(datasource)
    data = await client.query_range(info.normalised, lo, hi, step_s)
    provenance = Provenance(
        datasource=client.name,
        datasource_type="prometheus",
        query=info.normalised,
        start=_iso(lo),
        end=_iso(hi),
        step_seconds=step_s,
    )
    result = metric_result(
        data,
        provenance,
        max_series=rt.settings.max_series,
        max_results=rt.settings.max_query_results,
        max_points=points or rt.settings.max_points,
    )
    spec = ResultSpec("prometheus_range", client.name, info.normalised, lo, hi, step_s)
    return finish(rt, result, spec)


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
    matched = [n for n in (await client.metric_names()).items if needle in n.lower()]
    described = {m.metric: f"{m.type}: {m.help}" for m in (await client.metadata()).items} if matched else {}
    what = "metrics" + (f" matching {search!r}" if search else "")
    result = names_result(client.name, what, matched, limit, described)
    return tool_result(result, render_names(result, rt.settings.max_result_bytes))


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
    if label:
        listing = await client.label_values(label, selectors, window.start_ts, window.end_ts)
        what = f"values of {label}"
    else:
        listing = await client.labels(selectors, window.start_ts, window.end_ts)
        what = "label names"
    result = names_result(client.name, what + (f" for {match}" if match else ""), listing.items, limit)
    return tool_result(result, render_names(result, rt.settings.max_result_bytes))


def _iso(ts: float) -> str:
    return iso(ts) or ""


def register(server: MCPServer) -> None:
    add_tools(
        server, prometheus_query, prometheus_query_range, prometheus_find_metrics, prometheus_list_labels
    )
