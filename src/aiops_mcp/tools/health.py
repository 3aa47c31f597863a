"""Application health against its SLOs: one tool answering "was the app healthy yesterday?".

`app_health` resolves the application's profile from the store, builds PromQL from the profile's
metric label mappings (any convention: ``app``, ``service``+``namespace``, ``job``...), runs its
queries in parallel and leaves the judgement to `aiops_mcp.analysis.health` (what is measured, the
budgets and the verdict are defined there). Every SLO the profile schema allows is measured, with
or without a target:

- ``up`` over the window: uptime overall and per instance, each instance's down windows;
  availability is the uptime percentage.
- error rate, instant: ``(sum(increase(5xx[W])) or vector(0)) / sum(increase(all[W]))``: total
  errors over total requests (no 5xx series means 0 %, not no data).
- p95 and p99 latency, instant: ``histogram_quantile(q, sum by (le) (increase(<buckets>[W])))``:
  the percentile of every request in the window.

For each objective with a target, its series over time gives the breach windows (and, for
latency, the share of time over the target that measures its budget): the 5xx ratio
``sum(rate(5xx[w])) / sum(rate(all[w]))`` and ``histogram_quantile(q, sum by (le) (rate(<buckets>[w])))``.

The step is the smallest that fits the points budget (15 s, the scrape interval, for a day), so a
15-minute breach is always seen. The rate window ``w`` is the step, but at least two scrape
intervals (30 s) so that every window holds two samples; violation windows are therefore exact to
the step at their start and to the step plus ``w`` at their end.
"""

import math
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from aiops_mcp.analysis.health import OBJECTIVES, Measurements, ObjectiveResult, evaluate_health
from aiops_mcp.analysis.series import format_number, round_sig
from aiops_mcp.analysis.slo import Sample
from aiops_mcp.datasources.models import QueryData
from aiops_mcp.query.step import align_range, format_duration
from aiops_mcp.runtime import runtime
from aiops_mcp.tools.answering import AppSelectors, find_profile, gather, profile_labels, resolution
from aiops_mcp.tools.arguments import Datasource, TimeRangeText, TimeText, parse_window
from aiops_mcp.tools.contract import Provenance, Status, answer_text, iso, tool_result
from aiops_mcp.tools.guard import guarded
from aiops_mcp.tools.registration import add_tools

MAX_POINTS = 11_000
"""Points per series: Prometheus' own limit, so a day is fetched at the 15 s scrape interval."""
AppArg = Annotated[str, Field(description="Application name or alias, e.g. 'abc-app'.")]
QUERY_NAMES: dict[str, tuple[str, str]] = {
    "availability": ("up", "up"),
    "error_rate": ("error_ratio", "error_rate_total"),
    "p95_latency_ms": ("p95_latency", "p95_latency_total"),
    "p99_latency_ms": ("p99_latency", "p99_latency_total"),
}
"""Objective -> the names of its series query and of its whole-window query."""


class SLOLine(BaseModel):
    """An objective: measured value; with a target, compliance and budget used (1.0 = all; latency:
    share of time over target / share allowed, 5 % for p95). Null target: none set."""

    name: str
    unit: str
    target: float | None
    measured: float | None
    compliant: bool | None
    budget_consumed: float | None
    query: str


class WindowLine(BaseModel):
    """A breach: [start, end) in UTC, the worst value (in `unit`) and when it was seen."""

    signal: str
    unit: str
    start: str
    end: str
    peak: float
    peak_at: str


class HealthResult(BaseModel):
    """Verdict (healthy, degraded, unhealthy, no data; null without SLOs), uptime, SLOs, breaches."""

    app: str
    status: Status
    start: str
    end: str
    verdict: str | None
    reason: str
    missing: list[str] = Field(default_factory=list, description="'query: why' for each that failed.")
    uptime_percent: float | None
    instances: dict[str, float | None]
    slos: list[SLOLine]
    windows: list[WindowLine]
    windows_omitted: int = Field(default=0, description="Shorter breach windows left out (10 per signal).")
    queries: dict[str, Provenance]


def health_queries(
    app: AppSelectors, rate_window: str, whole: str, targets: dict[str, float | None]
) -> dict[str, tuple[str, bool]]:
    """Name -> (PromQL, is_range): ``up``, each objective's whole-window figure, and the series of
    each objective with a target (for its breach windows)."""
    errors, total = app.errors, app.requests
    out = {
        "up": (app.up, True),
        "error_rate_total": (
            f"(sum(increase({errors}[{whole}])) or vector(0)) / sum(increase({total}[{whole}]))",
            False,
        ),
    }
    if targets.get("error_rate") is not None:
        out["error_ratio"] = (
            f"(sum(rate({errors}[{rate_window}])) or vector(0)) / sum(rate({total}[{rate_window}]))",
            True,
        )
    for objective in OBJECTIVES:
        if objective.quantile is None:
            continue
        series, whole_name = QUERY_NAMES[objective.name]
        q = f"{objective.quantile:g}"
        out[whole_name] = (f"histogram_quantile({q}, sum by (le) (increase({app.buckets}[{whole}])))", False)
        if targets.get(objective.name) is not None:
            rate = f"histogram_quantile({q}, sum by (le) (rate({app.buckets}[{rate_window}])))"
            out[series] = (rate, True)
    return out


def slo_targets(slos: dict[str, Any]) -> dict[str, float | None]:
    """Objective -> the profile's target (None when it sets none)."""
    return {o.name: None if slos.get(o.name) is None else float(slos[o.name]) for o in OBJECTIVES}


def _samples(data: QueryData | None) -> list[Sample]:
    """The samples of a one-series answer (aggregations return one), NaN and Inf dropped."""
    if data is None or not data.series:
        return []
    series = data.series[0]
    return [(t, v) for t, v in zip(series.timestamps, series.values, strict=True) if math.isfinite(v)]


def measurements(data: dict[str, QueryData | None]) -> Measurements:
    """The fetched answers as the analysis takes them (a failed query: None, left out)."""
    up = data.get("up")
    by_instance = {
        s.labels.get("instance", str(i)): list(zip(s.timestamps, s.values, strict=True))
        for i, s in enumerate(up.series if up else [])
    }
    totals, series = {}, {}
    for objective in OBJECTIVES:
        if objective.name == "availability":  # measured from up
            continue
        series_name, whole_name = QUERY_NAMES[objective.name]
        whole = _samples(data.get(whole_name))
        totals[objective.name] = whole[-1][1] if whole else None
        series[objective.name] = _samples(data.get(series_name))
    return Measurements(by_instance, totals, series)


def _slo_line(result: ObjectiveResult, queries: dict[str, Provenance]) -> SLOLine:
    objective = result.objective
    source = queries.get(QUERY_NAMES[objective.name][1])
    return SLOLine(
        name=objective.name,
        unit=objective.unit,
        target=result.target,
        measured=round_sig(result.measured),
        compliant=result.compliant,
        budget_consumed=round_sig(result.budget_consumed),
        query=source.query if source else "",
    )


def health_result(
    app: str,
    span: tuple[float, float],
    data: dict[str, QueryData | None],
    targets: dict[str, float | None],
    queries: dict[str, Provenance],
    failures: dict[str, str],
) -> HealthResult:
    """The result for the fetched data (None where a query failed, its reason in `failures`)."""
    report = evaluate_health(measurements(data), targets, failed=bool(failures))
    return HealthResult(
        app=app,
        status=Status(report.status),
        start=iso(span[0]) or "",
        end=iso(span[1]) or "",
        verdict=report.verdict.status,
        reason=report.verdict.reason,
        missing=[f"{name}: {reason}" for name, reason in sorted(failures.items())],
        uptime_percent=round_sig(report.uptime.percent),
        instances={i.instance: round_sig(i.percent) for i in report.uptime.instances},
        slos=[_slo_line(r, queries) for r in report.objectives],
        windows=[
            WindowLine(
                signal=b.signal,
                unit=b.unit,
                start=iso(b.window.start) or "",
                end=iso(b.window.end) or "",
                peak=round_sig(b.window.peak) or 0.0,
                peak_at=iso(b.window.peak_at) or "",
            )
            for b in report.breaches
        ],
        windows_omitted=report.breaches_omitted,
        queries=queries,
    )


def _slo_text(s: SLOLine) -> str:
    measured = f"SLO {s.name}: measured {format_number(s.measured)}{s.unit}"
    if s.target is None:
        return f"{measured} (no target)"
    judged = "met" if s.compliant else "breached" if s.compliant is False else "no data"
    return (
        f"{measured} target {format_number(s.target)}{s.unit} {judged}"
        f", budget used {format_number(s.budget_consumed)}x"
    )


def render(result: HealthResult, window: str, budget: int) -> str:
    """One line for the verdict, uptime, each SLO and each breach window, then the queries."""
    header = [f"{result.app} {window}: {result.verdict or 'no verdict'} ({result.reason}) [{result.status}]"]
    if result.status == Status.EMPTY:
        header.append(f"no samples for {result.app} from {result.start} to {result.end}")
    header += [f"missing (query failed) {reason}" for reason in result.missing]
    if result.windows_omitted:
        header.append(
            f"{result.windows_omitted} shorter breach windows left out (the 10 longest per signal shown)"
        )
    per = ", ".join(f"{k} {format_number(v)} %" for k, v in result.instances.items())
    header.append(f"uptime {format_number(result.uptime_percent)} %" + (f" ({per})" if per else ""))
    items = [_slo_text(s) for s in result.slos]
    items += [
        f"window {w.signal}: {w.start} to {w.end} peak {format_number(w.peak)}{w.unit} at {w.peak_at}"
        for w in result.windows
    ]
    items += [f"query {name}: {p.query}" for name, p in result.queries.items()]
    return answer_text(header, items, budget)


@guarded
async def app_health(
    app: AppArg,
    ctx: Context,
    time_range: TimeRangeText = "yesterday",
    start: TimeText = None,
    end: TimeText = None,
    datasource: Datasource = None,
) -> Annotated[CallToolResult, HealthResult]:
    """Was an application healthy? Uptime (per instance, down windows), each SLO (availability,
    error rate, p95 and p99 latency) measured and judged, breach windows with their peaks,
    error-budget use and a verdict; every figure with its PromQL. Uses the app's profile."""
    rt = runtime(ctx)
    profile = await find_profile(rt, app)
    labels = profile_labels(profile, "metrics")
    if not labels:
        raise ToolError(f"application {profile.name!r} has no metric label mappings in its profile")
    window = parse_window(rt, time_range, start, end, default="yesterday")
    step, rate_window = resolution(rt, window.seconds, MAX_POINTS)
    lo, hi = align_range(window.start_ts, window.end_ts, step)
    targets = slo_targets(profile.slos or {})
    selectors = AppSelectors.of(labels, list(profile.default_metrics or []))
    queries = health_queries(selectors, rate_window, format_duration(hi - lo), targets)
    client = await rt.prometheus(datasource or profile.prometheus_datasource)

    def fetch(query: str, is_range: bool) -> Callable[[], Awaitable[QueryData]]:
        return lambda: client.query_range(query, lo, hi, step) if is_range else client.query(query, hi)

    fetched = await gather({name: fetch(query, is_range) for name, (query, is_range) in queries.items()})
    provenance = {
        name: Provenance(
            datasource=client.name,
            datasource_type="prometheus",
            query=query,
            start=iso(lo) if is_range else None,
            end=iso(hi) if is_range else None,
            time=None if is_range else iso(hi),
            step_seconds=step if is_range else None,
        )
        for name, (query, is_range) in queries.items()
    }
    data = {name: fetched.get(name) for name in queries}
    result = health_result(profile.name, (lo, hi), data, targets, provenance, fetched.failures)
    return tool_result(result, render(result, window.description, rt.settings.max_result_bytes))


def register(server: MCPServer) -> None:
    add_tools(server, app_health)
