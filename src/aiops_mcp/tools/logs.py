"""Loki tools: LogQL log and metric queries, and log label discovery with stream volume."""

from typing import Annotated, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult
from pydantic import Field

from aiops_mcp.analysis.logs import clip_line, level_breakdown, level_of
from aiops_mcp.datasources.errors import DatasourceError
from aiops_mcp.datasources.loki import Direction, LokiClient
from aiops_mcp.datasources.models import LogEntry
from aiops_mcp.datasources.stale import collect_stale
from aiops_mcp.query.errors import QueryInputError
from aiops_mcp.query.logql import parse_logql
from aiops_mcp.query.timerange import TimeRange
from aiops_mcp.runtime import ResultSpec, Runtime, log_cursor, runtime
from aiops_mcp.tools.arguments import (
    Datasource,
    LabelArg,
    LimitArg,
    PointsArg,
    Step,
    TimeRangeText,
    TimeText,
    parse_window,
    range_window,
)
from aiops_mcp.tools.contract import Provenance, Status, iso, tool_result
from aiops_mcp.tools.guard import guarded
from aiops_mcp.tools.metrics import series_answer, shaped, with_handle
from aiops_mcp.tools.registration import add_tools
from aiops_mcp.tools.shaping import (
    LogLineOut,
    LogResult,
    MetricResult,
    NamesResult,
    common_labels,
    entry_time,
    level_counts_out,
    mark_stale,
    names_result,
    render_logs,
    render_names,
)

LogQL = Annotated[
    str, Field(description='LogQL, e.g. {app="abc-app"} |= "timeout" | logfmt | level="error".')
]
LEVEL_LABELS = "level, detected_level"


async def count_by_level(
    client: LokiClient, query: str, window: TimeRange
) -> tuple[list[tuple[str, float]], str]:
    """Exact line counts by level over the whole window, from a metric query (not from the lines shown)."""
    seconds = max(1, round(window.seconds))
    expr = f"sum by ({LEVEL_LABELS}) (count_over_time({query} [{seconds}s]))"
    data = await client.query(expr, window.end_ts)
    counts = []
    for series in data.series:
        level = series.labels.get("level") or series.labels.get("detected_level") or "unknown"
        counts.append((level, series.values[-1] if series.values else 0.0))
    return counts, expr


async def log_query(
    rt: Runtime,
    query: str,
    *,
    time_range: str = "last 1h",
    start: str | None = None,
    end: str | None = None,
    limit: int | None = None,
    direction: Direction = "backward",
    datasource: str | None = None,
) -> LogResult:
    """LogQL log lines, bounded and grounded: the core of loki_query_logs (and REST)."""
    parsed = parse_logql(query)
    if parsed.kind != "log":
        raise QueryInputError("this is a LogQL metric query; use loki_query_metrics for it")
    text = str(parsed)
    window = parse_window(rt, time_range, start, end)
    wanted = limit or rt.settings.max_log_lines
    client = await rt.loki(datasource)
    with collect_stale() as stale:
        data = await client.query_range(
            text, window.start_ts, window.end_ts, limit=wanted + 1, direction=direction
        )
        entries = data.entries[:wanted]
        warnings = list(data.warnings)
        counts: list[tuple[str, float]] | None
        try:
            counts, _ = await count_by_level(client, text, window)
        except DatasourceError as exc:
            counts = None
            warnings.append(f"counts by level unavailable: {exc}")
    result = log_result(rt.settings.max_line_chars, entries, len(data.entries) > wanted, counts, warnings)
    result.provenance = Provenance(
        datasource=client.name,
        datasource_type="loki",
        query=text,
        start=iso(window.start_ts),
        end=iso(window.end_ts),
    )
    mark_stale(result, stale)
    if result.more_lines and entries:
        extra = (("direction", direction),)
        spec = ResultSpec("loki_logs", client.name, text, window.start_ts, window.end_ts, extra=extra)
        result.more = rt.handles.uri(spec, log_cursor([e.timestamp_ns for e in entries]))
    return result


@guarded
async def loki_query_logs(
    query: LogQL,
    ctx: Context,
    time_range: TimeRangeText = "last 1h",
    start: TimeText = None,
    end: TimeText = None,
    limit: Annotated[int | None, Field(ge=1, le=1000, description="Lines to return (default 50).")] = None,
    direction: Literal["backward", "forward"] = "backward",
    datasource: Datasource = None,
) -> Annotated[CallToolResult, LogResult]:
    """Search log lines with LogQL (newest first): errors, a text like 'database timeout', one app's logs.

    Unsure of labels? Call loki_list_labels first. Also returns exact counts by level over the
    whole window, so use this for 'how many errors' too. Lines are capped; a handle pages the rest."""
    rt = runtime(ctx)
    result = await log_query(
        rt,
        query,
        time_range=time_range,
        start=start,
        end=end,
        limit=limit,
        direction=direction,
        datasource=datasource,
    )
    return tool_result(result, render_logs(result, rt.settings.max_result_bytes))


def log_result(
    max_chars: int,
    entries: list[LogEntry],
    more: bool,
    counts: list[tuple[str, float]] | None,
    warnings: list[str],
) -> LogResult:
    """Lines with their level and the labels that differ; `counts` is None when counting failed."""
    shared = common_labels(entries)
    lines = []
    clipped = 0
    for entry in entries:
        line, cut = clip_line(entry.line, max_chars)
        clipped += cut
        extra = {k: v for k, v in entry.labels.items() if k not in shared}
        lines.append(
            LogLineOut(
                time=entry_time(entry), level=level_of(entry.labels, entry.line), line=line, labels=extra
            )
        )
    breakdown = level_breakdown(counts or [])
    total = sum(c.count for c in breakdown) if counts else None
    # A failed sub-query outranks a cut: `more_lines` still says that lines were cut.
    if counts is None:
        status = Status.PARTIAL
    elif not entries and not total:
        status = Status.EMPTY
    else:
        status = Status.TRUNCATED if more else Status.OK
    return LogResult(
        status=status,
        provenance=Provenance(datasource="", datasource_type="loki", query=""),
        lines=lines,
        more_lines=more,
        common_labels=shared,
        level_counts=level_counts_out(breakdown),
        total_matching=total,
        lines_clipped=clipped,
        warnings=warnings,
    )


async def log_metric_query(
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
    """A LogQL metric query over a range, shaped like PromQL series: the core of loki_query_metrics."""
    parsed = parse_logql(query)
    if parsed.kind != "metric":
        raise QueryInputError("this is a LogQL log query; use loki_query_logs for log lines")
    text = str(parsed)
    lo, hi, step_s = range_window(rt, parse_window(rt, time_range, start, end), step)
    client = await rt.loki(datasource)
    with collect_stale() as stale:
        data = await client.query_range(text, lo, hi, step=step_s)
    provenance = Provenance(
        datasource=client.name,
        datasource_type="loki",
        query=text,
        start=iso(lo),
        end=iso(hi),
        step_seconds=step_s,
    )
    spec = ResultSpec("loki_range", client.name, text, lo, hi, step_s)
    result = with_handle(rt, shaped(rt, data, provenance, points), spec)
    mark_stale(result, stale)
    return result


@guarded
async def loki_query_metrics(
    query: Annotated[
        str, Field(description='LogQL metric query, e.g. sum by (level) (count_over_time({app="abc"}[5m])).')
    ],
    ctx: Context,
    time_range: TimeRangeText = "last 1h",
    start: TimeText = None,
    end: TimeText = None,
    step: Step = None,
    points: PointsArg = None,
    datasource: Datasource = None,
) -> Annotated[CallToolResult, MetricResult]:
    """Run a LogQL metric query over a range: log rates, error counts over time, bytes by stream.

    Returns series like prometheus_query_range: exact statistics per series, largest first, capped."""
    rt = runtime(ctx)
    result = await log_metric_query(
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
async def loki_list_labels(
    ctx: Context,
    label: LabelArg = None,
    selector: Annotated[
        str | None, Field(description='Stream selector to narrow by, e.g. {env="prod"}; adds volume.')
    ] = None,
    time_range: TimeRangeText = "last 1h",
    limit: LimitArg = 100,
    datasource: Datasource = None,
) -> Annotated[CallToolResult, NamesResult]:
    """List log label names, or a label's values; with a selector, each value's log volume in bytes.

    Call this before writing LogQL to learn which apps, namespaces and levels exist."""
    rt = runtime(ctx)
    query = str(parse_logql(selector)) if selector else None
    window = parse_window(rt, time_range, None, None)
    client = await rt.loki(datasource)
    details: dict[str, str] = {}
    with collect_stale() as stale:
        if label:
            names = await client.label_values(label, window.start_ts, window.end_ts, query=query)
            what = f"values of {label}"
            if query and names:
                volume = await client.index_volume(
                    query, window.start_ts, window.end_ts, target_labels=[label]
                )
                for series in volume.series:
                    value = series.labels.get(label)
                    if value is not None and series.values:
                        details[value] = f"{int(series.values[-1])} bytes"
        else:
            names = await client.labels(window.start_ts, window.end_ts, query=query)
            what = "label names"
    result = names_result(client.name, what + (f" for {query}" if query else ""), names, limit, details)
    mark_stale(result, stale)
    return tool_result(result, render_names(result, rt.settings.max_result_bytes))


def register(server: MCPServer) -> None:
    add_tools(server, loki_query_logs, loki_query_metrics, loki_list_labels)
