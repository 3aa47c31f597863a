"""How many events did an application create? One tool answering it from logs and alerts.

`app_events` selects the app's log streams with its profile's ``service_mappings.logs`` labels,
optionally narrowed by a text (``|= "text"``, case-sensitive), and runs in parallel:

- the exact count by level over the whole window, one instant LogQL metric query
  ``sum by (level, detected_level) (count_over_time(<selector> [<window>]))``;
- a timeline of about 48 buckets ``(t - step, t]`` on multiples of the step (where Loki evaluates
  range queries), from the same aggregation over ``[step]``: the busiest bucket overall and for
  errors. The first and last bucket can reach past the window's edges; the counts by level do not;
- the alerts stored for the app that started in the window, counted per alertname and severity,
  with each group's share of them.

A part that fails (Loki down or not configured, a profile without log labels, the store
unavailable) is named in `missing` with the reason and the status is partial; the other parts
still answer.
"""

from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from aiops_mcp.analysis.events import bucket_grid, bucket_totals, event_breakdown, timeline_peak
from aiops_mcp.analysis.logs import normalise_level, percent_of
from aiops_mcp.analysis.series import format_number, round_sig, sparkline
from aiops_mcp.datasources.loki import LokiClient
from aiops_mcp.datasources.models import QueryData
from aiops_mcp.query.errors import QueryInputError
from aiops_mcp.query.logql import add_line_filter, stream_selector
from aiops_mcp.query.step import auto_step
from aiops_mcp.query.timerange import TimeRange
from aiops_mcp.runtime import runtime
from aiops_mcp.tools.answering import Gathered, find_profile, gather, profile_labels
from aiops_mcp.tools.arguments import TimeRangeText, TimeText, parse_window
from aiops_mcp.tools.contract import Provenance, Status, answer_text, iso, tool_result
from aiops_mcp.tools.guard import guarded
from aiops_mcp.tools.health import AppArg
from aiops_mcp.tools.logs import LEVEL_LABELS, count_by_level
from aiops_mcp.tools.registration import add_tools
from aiops_mcp.tools.shaping import LevelCountOut, level_counts_out

TIMELINE_BUCKETS = 48
MAX_ALERT_GROUPS = 20
ERROR_LEVELS = frozenset({"error", "critical"})


class Peak(BaseModel):
    """The busiest bucket (start, end]: its events and their share of the window's total."""

    start: str
    end: str
    count: int
    share: float | None


class AlertGroup(BaseModel):
    alertname: str
    severity: str | None
    count: int
    percent: float = Field(description="Share of the window's alerts.")


class EventsResult(BaseModel):
    """Log events by level with percentages, the timeline and its peaks, and the stored alerts."""

    app: str
    status: Status
    start: str
    end: str
    text: str | None = None
    missing: list[str] = Field(default_factory=list)
    log_events: int | None = None
    levels: list[LevelCountOut] = Field(default_factory=list)
    bucket_seconds: float | None = None
    timeline_start: str | None = None
    timeline: list[int] = Field(default_factory=list, description="Events per bucket from timeline_start.")
    peak: Peak | None = None
    error_peak: Peak | None = None
    alerts_total: int | None = None
    alerts: list[AlertGroup] = Field(default_factory=list)
    alerts_uri: str | None = Field(default=None, description="Resource listing these alerts.")
    queries: dict[str, Provenance] = Field(default_factory=dict)


def _peak(grid: list[float], counts: list[float], step: float, total: float) -> Peak | None:
    found = timeline_peak(list(zip(grid, counts, strict=True)))
    if found.at is None or not found.count:
        return None
    share = found.count / total if total else None
    return Peak(
        start=iso(found.at - step) or "",
        end=iso(found.at) or "",
        count=round(found.count),
        share=round_sig(share),
    )


def _level(labels: dict[str, str]) -> str:
    return normalise_level(labels.get("level") or labels.get("detected_level") or "unknown")


@dataclass(frozen=True, slots=True)
class LogParts:
    """Counts by level over the window and the per-level timeline on its bucket grid, with the
    LogQL of each."""

    counts: list[tuple[str, float]]
    counts_query: str
    timeline: QueryData
    timeline_query: str
    step: float
    grid: list[float]


async def _log_parts(client: LokiClient, query: str, window: TimeRange) -> LogParts:
    """Both log queries at once; either failing fails the part (its error is raised)."""
    step = auto_step(window.seconds, TIMELINE_BUCKETS + 1, 60)
    grid = bucket_grid(window.start_ts, window.end_ts, step)
    expr = f"sum by ({LEVEL_LABELS}) (count_over_time({query} [{int(step)}s]))"
    got: Gathered[Any] = await gather(
        {
            "counts": partial(count_by_level, client, query, window),
            "timeline": partial(client.query_range, expr, grid[0], grid[-1], step=step),
        }
    )
    if got.errors:
        raise got.errors[0]
    counts, counts_query = got.values["counts"]
    return LogParts(counts, counts_query, got.values["timeline"], expr, step, grid)


def assemble(
    app: str,
    window: TimeRange,
    text: str | None,
    parts: Gathered[Any],
    queries: dict[str, Provenance],
    alerts_uri: str,
) -> EventsResult:
    """The result from the parts that answered (`logs`, `alerts`); the others are listed missing."""
    result = EventsResult(
        app=app,
        status=Status.OK,
        start=iso(window.start_ts) or "",
        end=iso(window.end_ts) or "",
        text=text,
        missing=[f"{name}: {reason}" for name, reason in sorted(parts.failures.items())],
        queries=queries,
    )
    logs: LogParts | None = parts.get("logs")
    if logs is not None:
        step, grid = logs.step, logs.grid
        breakdown = event_breakdown(logs.counts)
        series = [list(zip(s.timestamps, s.values, strict=True)) for s in logs.timeline.series]
        errors = [
            list(zip(s.timestamps, s.values, strict=True))
            for s in logs.timeline.series
            if _level(s.labels) in ERROR_LEVELS
        ]
        totals = bucket_totals(series, grid)
        error_total = sum(c.count for c in breakdown.levels if c.level in ERROR_LEVELS)
        result.log_events = breakdown.total
        result.levels = level_counts_out(breakdown.levels)
        result.bucket_seconds = step
        result.timeline_start = iso(grid[0] - step)
        result.timeline = [round(v) for v in totals]
        result.peak = _peak(grid, totals, step, breakdown.total)
        result.error_peak = _peak(grid, bucket_totals(errors, grid), step, error_total)
    alerts = parts.get("alerts")
    if alerts is not None:
        total = sum(group.count for group in alerts)
        result.alerts_total = total
        result.alerts = [
            AlertGroup(
                alertname=g.alertname, severity=g.severity, count=g.count, percent=percent_of(g.count, total)
            )
            for g in alerts[:MAX_ALERT_GROUPS]
        ]
        result.alerts_uri = alerts_uri
    if result.missing:
        result.status = Status.PARTIAL
    elif not result.log_events and not result.alerts_total:
        result.status = Status.EMPTY
    elif alerts is not None and len(alerts) > MAX_ALERT_GROUPS:
        result.status = Status.TRUNCATED
    return result


def render(result: EventsResult, window: str, budget: int) -> str:
    """Flow 1's answer: the total, each level with its share, the peaks, the alerts, the queries."""
    what = f" containing {result.text!r}" if result.text else ""
    header = [f"{result.app} {window}{what}: [{result.status}]"]
    if result.status == Status.EMPTY:
        header.append(f"no log events and no alerts for {result.app} in {window}")
    header += [f"missing {reason}" for reason in result.missing]
    if result.log_events is not None:
        levels = ", ".join(f"{c.level} {c.count} ({format_number(c.percent)} %)" for c in result.levels)
        header.append(f"log events: {result.log_events}" + (f" ({levels})" if levels else ""))
    if result.timeline and result.bucket_seconds:
        minutes = format_number(result.bucket_seconds / 60)
        header.append(f"timeline per {minutes} min: {sparkline(result.timeline)}")
    for name, peak, noun in (("peak", result.peak, "events"), ("error peak", result.error_peak, "errors")):
        if peak:
            share = f" ({format_number(100 * peak.share)} % of all {noun})" if peak.share is not None else ""
            header.append(f"{name}: {peak.count} events from {peak.start} to {peak.end}{share}")
    items = []
    if result.alerts_total is not None:
        header.append(f"alerts started in the window: {result.alerts_total} ({result.alerts_uri})")
        items += [
            f"alert {g.alertname} [{g.severity or '-'}]: {g.count} ({format_number(g.percent)} %)"
            for g in result.alerts
        ]
    items += [f"query {name}: {p.query}" for name, p in result.queries.items()]
    return answer_text(header, items, budget)


@guarded
async def app_events(
    app: AppArg,
    ctx: Context,
    time_range: TimeRangeText = "last 24h",
    start: TimeText = None,
    end: TimeText = None,
    text: Annotated[str | None, Field(description="Only log lines containing this text.")] = None,
    datasource: Annotated[str | None, Field(description="Loki datasource; the profile's if omitted.")] = None,
) -> Annotated[CallToolResult, EventsResult]:
    """How many events did an app create? Exact log counts by level with percentages, the
    timeline and its peak (overall and errors), and the app's stored alerts in the same window.
    Uses the app's profile for its log labels; every count comes with its LogQL."""
    rt = runtime(ctx)
    profile = await find_profile(rt, app)
    window = parse_window(rt, time_range, start, end, default="last 24h")
    labels = profile_labels(profile, "logs")
    query = stream_selector(labels) if labels else None
    if query and text:
        query = add_line_filter(query, text)
    loki_name = datasource or profile.loki_datasource
    queries: dict[str, Provenance] = {}

    async def logs() -> LogParts:
        if query is None:
            raise QueryInputError(f"the profile of {profile.name} maps no log labels (service_mappings.logs)")
        client = await rt.loki(loki_name)
        parts = await _log_parts(client, query, window)
        queries["levels"] = Provenance(
            datasource=client.name, datasource_type="loki", query=parts.counts_query, time=iso(window.end_ts)
        )
        queries["timeline"] = Provenance(
            datasource=client.name,
            datasource_type="loki",
            query=parts.timeline_query,
            start=iso(parts.grid[0]),
            end=iso(parts.grid[-1]),
            step_seconds=parts.step,
        )
        return parts

    async def alerts() -> Any:
        from aiops_mcp.store import AlertFilter

        since, until = window.start, window.end
        return await (await rt.store()).alerts.breakdown(
            AlertFilter(app=profile.name, since=since, until=until)
        )

    parts = await gather({"logs": logs, "alerts": alerts})
    uri = f"aiops://apps/{profile.name}/alerts"
    result = assemble(profile.name, window, text, parts, queries, uri)
    return tool_result(result, render(result, window.description, rt.settings.max_result_bytes))


def register(server: MCPServer) -> None:
    add_tools(server, app_events)
