"""Application health against its SLOs: one tool answering "was the app healthy yesterday?".

`app_health` resolves the application's profile from the store, builds PromQL from the profile's
metric label mappings (any convention: ``app``, ``service``+``namespace``, ``job``...), runs four
queries in parallel and evaluates them with `aiops_mcp.analysis.slo`:

- ``up`` over the window: uptime overall and per instance, and each instance's down windows;
  availability is the uptime percentage.
- the 5xx ratio over time, ``sum(rate(<requests>{..,status=~"5.."}[w])) / sum(rate(<requests>{..}[w]))``:
  error-rate violation windows (the numerator ``or vector(0)``: no 5xx series means 0 %, not no data).
- the whole window's error rate as an instant query, ``sum(increase(5xx[W])) / sum(increase(all[W]))``:
  total errors over total requests (the mean of the ratio series is wrong when traffic varies).
- p95 latency over time, ``histogram_quantile(0.95, sum by (le) (rate(<buckets>{..}[w])))``:
  latency violation windows. The SLO's measured p95 is the 95th percentile of that series, so a
  spike shorter than 5 % of the window shows as a violation window without failing the day.

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

from aiops_mcp.analysis import slo
from aiops_mcp.analysis.series import format_number, percentile, round_sig
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


class SLOLine(BaseModel):
    """One objective: target, what was measured (same unit), compliance, budget used (1.0 = all)."""

    name: str
    unit: str
    target: float
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
    verdict: str | None
    reason: str
    missing: list[str] = Field(default_factory=list)
    uptime_percent: float | None
    instances: dict[str, float | None]
    slos: list[SLOLine]
    windows: list[WindowLine]
    windows_omitted: int = Field(default=0, description="Shorter breach windows left out (10 per signal).")
    queries: dict[str, Provenance]


def health_queries(app: AppSelectors, rate_window: str, whole: str) -> dict[str, tuple[str, bool]]:
    """Name -> (PromQL, is_range) for the four measurements."""
    errors, total = app.errors, app.requests
    return {
        "up": (app.up, True),
        "error_ratio": (
            f"(sum(rate({errors}[{rate_window}])) or vector(0)) / sum(rate({total}[{rate_window}]))",
            True,
        ),
        "error_rate_total": (
            f"(sum(increase({errors}[{whole}])) or vector(0)) / sum(increase({total}[{whole}]))",
            False,
        ),
        "p95_latency": (
            f"histogram_quantile(0.95, sum by (le) (rate({app.buckets}[{rate_window}])))",
            True,
        ),
    }


def _samples(data: QueryData | None) -> list[slo.Sample]:
    """The samples of a one-series answer (aggregations return one), NaN and Inf dropped."""
    if data is None or not data.series:
        return []
    series = data.series[0]
    return [(t, v) for t, v in zip(series.timestamps, series.values, strict=True) if math.isfinite(v)]


MAX_WINDOWS_PER_SIGNAL = 10


def _windows(signal: str, unit: str, windows: list[slo.Window], scale: float) -> list[WindowLine]:
    """The signal's longest breach windows (at most `MAX_WINDOWS_PER_SIGNAL`), in time order."""
    kept = sorted(sorted(windows, key=lambda w: -w.duration)[:MAX_WINDOWS_PER_SIGNAL], key=lambda w: w.start)
    return [
        WindowLine(
            signal=signal,
            unit=unit,
            start=iso(w.start) or "",
            end=iso(w.end) or "",
            peak=round_sig(w.peak * scale) or 0.0,
            peak_at=iso(w.peak_at) or "",
        )
        for w in kept
    ]


def evaluate(
    app: str, data: dict[str, QueryData | None], slos: dict[str, Any], queries: dict[str, Provenance]
) -> HealthResult:
    """The health result from the fetched data (None where a query failed)."""
    up_data = data["up"]
    by_instance = {
        s.labels.get("instance", str(i)): list(zip(s.timestamps, s.values, strict=True))
        for i, s in enumerate(up_data.series if up_data else [])
    }
    up = slo.uptime(by_instance)
    ratio, latency, total = (
        _samples(data["error_ratio"]),
        _samples(data["p95_latency"]),
        _samples(data["error_rate_total"]),
    )
    error_pct = 100 * total[-1][1] if total else None
    p95_ms = 1000 * percentile([v for _, v in latency], 0.95) if latency else None
    measured = {"availability": up.percent, "error_rate": error_pct, "p95_latency_ms": p95_ms}
    sources = {"availability": "up", "error_rate": "error_rate_total", "p95_latency_ms": "p95_latency"}
    units = {"availability": "%", "error_rate": "%", "p95_latency_ms": "ms"}
    lines, results = [], []
    for name in ("availability", "error_rate", "p95_latency_ms"):
        target = slos.get(name)
        if target is None:
            continue
        higher = name == "availability"
        result = slo.evaluate_slo(name, measured[name], float(target), higher_is_better=higher)
        consumed = result.budget_consumed
        if higher and result.measured is not None and 0 <= result.measured <= 100:
            consumed = slo.error_budget(float(target), result.measured / 100).consumed_fraction
        results.append(result)
        lines.append(
            SLOLine(
                name=name,
                unit=units[name],
                target=float(target),
                measured=round_sig(result.measured),
                compliant=result.compliant,
                budget_consumed=round_sig(consumed),
                query=queries[sources[name]].query if sources[name] in queries else "",
            )
        )
    found: list[tuple[str, str, list[slo.Window], float]] = [
        (f"down {i.instance}", "", list(i.down_windows), 1.0) for i in up.instances
    ]
    error_target, latency_target = slos.get("error_rate"), slos.get("p95_latency_ms")
    if error_target is not None:
        found.append(
            ("error_rate", "%", slo.violation_windows(ratio, float(error_target) / 100, above=True), 100.0)
        )
    if latency_target is not None:
        breaches = slo.violation_windows(latency, float(latency_target) / 1000, above=True)
        found.append(("p95_latency", "ms", breaches, 1000.0))
    windows = [line for signal, unit, ws, scale in found for line in _windows(signal, unit, ws, scale)]
    omitted = sum(len(ws) for _, _, ws, _ in found) - len(windows)
    has_data = bool(up.samples or ratio or latency or total)
    judged = slo.verdict(results, has_data)
    missing = [name for name, value in data.items() if value is None]
    if missing:
        status = Status.PARTIAL
    elif not has_data:
        status = Status.EMPTY
    else:
        status = Status.TRUNCATED if omitted else Status.OK
    return HealthResult(
        app=app,
        status=status,
        verdict=judged.status,
        reason=judged.reason,
        missing=missing,
        uptime_percent=round_sig(up.percent),
        instances={i.instance: round_sig(i.percent) for i in up.instances},
        slos=lines,
        windows=windows,
        windows_omitted=omitted,
        queries=queries,
    )


def render(result: HealthResult, window: str, budget: int) -> str:
    """One line for the verdict, uptime, each SLO and each breach window, then the queries."""
    header = [f"{result.app} {window}: {result.verdict or 'no verdict'} ({result.reason}) [{result.status}]"]
    if result.status == Status.EMPTY:
        header.append(f"no samples for {result.app} in {window}")
    if result.missing:
        header.append(f"missing (query failed): {', '.join(result.missing)}")
    if result.windows_omitted:
        header.append(
            f"{result.windows_omitted} shorter breach windows left out (the 10 longest per signal shown)"
        )
    per = ", ".join(f"{k} {format_number(v)} %" for k, v in result.instances.items())
    header.append(f"uptime {format_number(result.uptime_percent)} %" + (f" ({per})" if per else ""))
    items = [
        f"SLO {s.name}: measured {format_number(s.measured)}{s.unit} target {format_number(s.target)}"
        f"{s.unit} {'met' if s.compliant else 'breached' if s.compliant is False else 'no data'}"
        f", budget used {format_number(s.budget_consumed)}x"
        for s in result.slos
    ]
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
    error rate, p95 latency) measured and judged, breach windows with their peaks, error-budget
    use and a verdict; every figure with its PromQL. Uses the app's profile (labels, SLOs)."""
    rt = runtime(ctx)
    profile = await find_profile(rt, app)
    labels = profile_labels(profile, "metrics")
    if not labels:
        raise ToolError(f"application {profile.name!r} has no metric label mappings in its profile")
    window = parse_window(rt, time_range, start, end, default="yesterday")
    step, rate_window = resolution(rt, window.seconds, MAX_POINTS)
    lo, hi = align_range(window.start_ts, window.end_ts, step)
    selectors = AppSelectors.of(labels, list(profile.default_metrics or []))
    queries = health_queries(selectors, rate_window, format_duration(hi - lo))
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
    result = evaluate(profile.name, data, dict(profile.slos or {}), provenance)
    return tool_result(result, render(result, window.description, rt.settings.max_result_bytes))


def register(server: MCPServer) -> None:
    add_tools(server, app_health)
