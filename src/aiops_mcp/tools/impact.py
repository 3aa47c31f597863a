"""Was the server (or the app) impacted during an incident? One tool comparing the incident window
with two baselines: the same window the previous day, and the hour before.

The target comes from a stored alert (its id, or the most recent alert: "the last incident"), or
from an app and/or a host with a window. Host signals select the node exporter's series by
``instance=~"<host>(:port)?"``; the host is the ``host`` argument, the alert's ``node`` label (or
its ``instance`` when ``job="node"``), else the profile's ``architecture_info.host``. App signals
use the profile's metric labels, narrowed to the alert's ``instance`` when the alert is about one.

Each signal is one range query run three times (window and baselines, all in parallel) at the
same step, with rates over at least two scrapes; `aiops_mcp.analysis.impact.compare_to_baseline`
judges it: impacted when its worst value departs from every baseline's mean by the signal's ratio
and lies beyond the baseline's own worst value by its absolute threshold. A range with values at
fewer than half of its evaluation points is "insufficient data" (an instance's outage leaves its
request series with a point or two at the edges); a signal without data is reported missing,
never as zero.
"""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from aiops_mcp.analysis.impact import compare_to_baseline, impact_verdict
from aiops_mcp.analysis.series import format_number, round_sig
from aiops_mcp.datasources.models import QueryData
from aiops_mcp.query.promql import escape_label_value
from aiops_mcp.query.step import align_range, points
from aiops_mcp.runtime import Runtime, runtime
from aiops_mcp.tools.answering import AppSelectors, Gathered, gather, profile_labels, resolution
from aiops_mcp.tools.arguments import Datasource, TimeText, parse_window
from aiops_mcp.tools.contract import Status, answer_text, iso, tool_result
from aiops_mcp.tools.guard import guarded
from aiops_mcp.tools.registration import add_tools

if TYPE_CHECKING:
    from aiops_mcp.store.models import Alert, ApplicationProfile

WINDOW_POINTS = 120
MAX_QUESTIONS = 10
QUESTION_CHARS = 300
HOST_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(:[0-9]{1,5})?")


def windows_of(lo: float, hi: float) -> dict[str, tuple[float, float]]:
    """The incident window and its baselines: the same window a day earlier, and the hour before."""
    return {"window": (lo, hi), "previous_day": (lo - 86400, hi - 86400), "hour_before": (lo - 3600, lo)}


@dataclass(frozen=True, slots=True)
class SignalSpec:
    """How to query one signal and when a change counts: `ratio` times and `min_absolute` units."""

    name: str
    unit: str
    query: Callable[[str, str], str]
    higher_is_worse: bool = True
    ratio: float = 1.5
    min_absolute: float = 0.0


def _bytes_rate(matcher: str, window: str, *counters: str) -> str:
    """Bytes per second summed over the node's ``node_<counter>_bytes_total`` counters. A sum of
    sums, not a regex on the name: rate() drops names, and equal label sets would then collide."""
    return " + ".join(f"sum(rate(node_{c}_bytes_total{{{matcher}}}[{window}]))" for c in counters)


def host_signals() -> list[SignalSpec]:
    """CPU, memory, disk and network of a node exporter target; `m` is the instance matcher."""
    return [
        SignalSpec(
            "cpu_busy",
            "%",
            lambda m, w: f'100 * (1 - avg(rate(node_cpu_seconds_total{{{m},mode="idle"}}[{w}])))',
            min_absolute=10,
        ),
        SignalSpec(
            "memory_used",
            "%",
            lambda m, w: (
                f"100 * (1 - sum(node_memory_MemAvailable_bytes{{{m}}})"
                f" / sum(node_memory_MemTotal_bytes{{{m}}}))"
            ),
            min_absolute=10,
        ),
        SignalSpec("disk_io", "B/s", lambda m, w: _bytes_rate(m, w, "disk_read", "disk_written")),
        SignalSpec("network", "B/s", lambda m, w: _bytes_rate(m, w, "network_receive", "network_transmit")),
    ]


def app_signals(app: AppSelectors) -> list[SignalSpec]:
    """Availability, 5xx ratio and p95 latency of the app's series."""
    errors, total = app.errors, app.requests
    return [
        SignalSpec(
            "availability", "%", lambda m, w: f"100 * avg({app.up})", higher_is_worse=False, min_absolute=1
        ),
        SignalSpec(
            "error_ratio",
            "%",
            lambda m, w: f"100 * (sum(rate({errors}[{w}])) or vector(0)) / sum(rate({total}[{w}]))",
            min_absolute=0.5,
        ),
        SignalSpec(
            "latency_p95",
            "ms",
            lambda m, w: f"1000 * histogram_quantile(0.95, sum by (le) (rate({app.buckets}[{w}])))",
            min_absolute=50,
        ),
    ]


def host_matcher(host: str) -> str:
    """``instance=~"<host>(:port)?"`` for a host name or address (with or without its port)."""
    if not HOST_RE.fullmatch(host):
        raise ToolError(f"invalid host {host!r}: give a host name or address, optionally with :port")
    name = host.split(":")[0]
    return f'instance=~"{escape_label_value(re.escape(name))}(:[0-9]+)?"'


class BaselineOut(BaseModel):
    name: str
    mean: float | None
    worst: float | None
    peak_ratio: float | None
    mean_ratio: float | None


class SignalOut(BaseModel):
    """A signal's worst value in the window (`peak`: the lowest when lower is worse) and mean,
    against each baseline's mean, and the verdict. `coverage`: share of the window's points with
    a value (under 0.5: status "insufficient data", not judged)."""

    signal: str
    unit: str
    status: str
    impacted: bool | None
    peak: float | None
    mean: float | None
    coverage: float | None = None
    baselines: list[BaselineOut]
    reason: str
    query: str


class ImpactResult(BaseModel):
    """Per-signal verdicts for the incident window, with the alert's analysis and chat questions."""

    status: Status
    verdict: str
    impacted: list[str]
    alert_id: int | None = None
    app: str | None = None
    host: str | None = None
    instance: str | None = None
    windows: dict[str, list[str]] = Field(description="window and baselines: [start, end] each.")
    step_seconds: float
    datasource: str
    signals: list[SignalOut]
    missing: list[str] = Field(default_factory=list)
    ai_analysis: str | None = None
    chat_questions: list[str] = Field(default_factory=list)


@dataclass
class Target:
    """What to compare and when: the alert (if any), the app's profile and labels, the host."""

    start: datetime
    end: datetime
    alert: "Alert | None" = None
    profile: "ApplicationProfile | None" = None
    app_labels: dict[str, str] | None = None
    host: str | None = None
    instance: str | None = None


def host_of(alert: "Alert | None", profile: "ApplicationProfile | None") -> str | None:
    """The host an alert or app runs on: the alert's node (or node-exporter instance), else the profile's."""
    labels = alert.labels if alert is not None else {}
    if labels.get("node"):
        return str(labels["node"])
    if labels.get("job") == "node" and labels.get("instance"):
        return str(labels["instance"])
    host = ((profile.architecture_info or {}) if profile is not None else {}).get("host")
    return str(host) if isinstance(host, str) and host else None


async def resolve(
    rt: Runtime,
    alert_id: int | None,
    app: str | None,
    host: str | None,
    time_range: str | None,
    start: str | None,
    end: str | None,
) -> Target:
    """The alert, app and host to compare, and the incident window (see the module docstring)."""
    from aiops_mcp.store import AlertFilter, NotFound

    store = await rt.store()
    profile = None
    if app:
        try:
            profile = await store.profiles.require(app)
        except NotFound as error:
            raise ToolError(str(error)) from None
    alert = None
    if alert_id is not None:
        alert = await store.alerts.get(alert_id)
        if alert is None:
            raise ToolError(f"alert {alert_id} not found; alert ids are the `id` fields of aiops://alerts")
    elif not (time_range or start or end):
        wanted = AlertFilter(app=profile.name if profile else None)
        found = (await store.alerts.recent(wanted, limit=1)).items
        if not found:
            raise ToolError("no stored alert to take the incident window from; give start and end")
        alert = found[0]
    if alert is not None:
        window_start, window_end = alert.starts_at, alert.ends_at or rt.now()
        if profile is None and alert.app:
            profile = await store.profiles.find(alert.app)
    else:
        window = parse_window(rt, time_range or "", start, end)
        window_start, window_end = window.start, window.end
    if window_end <= window_start:
        raise ToolError(
            f"the incident window is empty: {window_start.isoformat()} to {window_end.isoformat()}"
        )
    if window_end - window_start > timedelta(hours=rt.settings.max_query_range_hours):
        raise ToolError("the incident window is longer than MAX_QUERY_RANGE_HOURS; give a shorter one")
    labels = profile_labels(profile, "metrics") if profile is not None else {}
    instance = None
    if alert is not None and labels and all(alert.labels.get(k) == v for k, v in labels.items()):
        instance = alert.labels.get("instance")
        labels = labels | ({"instance": instance} if instance else {})
    return Target(
        window_start,
        window_end,
        alert,
        profile,
        labels or None,
        host or host_of(alert, profile),
        instance,
    )


def _values(data: QueryData | None) -> list[float]:
    return [v for s in (data.series if data else []) for v in s.values]


def judge(spec: SignalSpec, query: str, fetched: Gathered[Any], expected: dict[str, int]) -> SignalOut:
    """The signal's verdict from its three fetched ranges (a failed window query: status failed);
    `expected` holds each range's evaluation points."""
    failed = fetched.failures.get(f"{spec.name} window")
    if failed is not None:
        return SignalOut(
            signal=spec.name,
            unit=spec.unit,
            status="failed",
            impacted=None,
            peak=None,
            mean=None,
            baselines=[],
            reason=f"query failed: {failed}",
            query=query,
        )
    impact = compare_to_baseline(
        spec.name,
        _values(fetched.get(f"{spec.name} window")),
        {name: _values(fetched.get(f"{spec.name} {name}")) for name in ("previous_day", "hour_before")},
        higher_is_worse=spec.higher_is_worse,
        ratio_threshold=spec.ratio,
        min_absolute=spec.min_absolute,
        unit=spec.unit,
        expected_points=expected,
    )
    return SignalOut(
        signal=spec.name,
        unit=spec.unit,
        status=impact.status,
        impacted=impact.impacted,
        peak=round_sig(impact.peak),
        mean=round_sig(impact.mean),
        coverage=round_sig(impact.coverage),
        baselines=[
            BaselineOut(
                name=c.name,
                mean=round_sig(c.mean),
                worst=round_sig(c.worst),
                peak_ratio=round_sig(c.peak_ratio),
                mean_ratio=round_sig(c.mean_ratio),
            )
            for c in impact.baselines
        ],
        reason=impact.reason,
        query=query,
    )


def render(result: ImpactResult, budget: int) -> str:
    """The verdict, one line per signal with its baselines, the analysis, the questions, the queries."""
    window = result.windows["window"]
    who = ", ".join(
        f"{k} {v}"
        for k, v in (("app", result.app), ("host", result.host), ("instance", result.instance))
        if v
    )
    named = f" ({', '.join(result.impacted)})" if result.impacted else ""
    header = [f"{who or 'target'} from {window[0]} to {window[1]}: {result.verdict}{named} [{result.status}]"]
    header += [f"missing {reason}" for reason in result.missing]
    items = [
        f"{s.signal}: worst {format_number(s.peak)}, mean {format_number(s.mean)} {s.unit}; {s.reason}"
        if s.status == "ok"
        else f"{s.signal}: {s.reason}"
        for s in result.signals
    ]
    if result.ai_analysis:
        items.append(f"stored analysis: {result.ai_analysis}")
    items += [f"asked in chat: {q}" for q in result.chat_questions]
    items += [f"query {s.signal}: {s.query}" for s in result.signals]
    return answer_text(header, items, budget)


async def chat_questions(rt: Runtime, alert: "Alert") -> list[str]:
    """The user questions of the chat sessions about the alert, oldest first, clipped."""
    store = await rt.store()
    questions = []
    for session in await store.chats.sessions_for_alert(alert.id):
        questions += [m.content for m in await store.chats.messages(session.id) if m.role == "user"]
    return [q if len(q) <= QUESTION_CHARS else q[:QUESTION_CHARS] + "…" for q in questions[:MAX_QUESTIONS]]


@guarded
async def incident_impact(
    ctx: Context,
    alert_id: Annotated[int | None, Field(description="Stored alert id; default: the latest alert.")] = None,
    app: Annotated[str | None, Field(description="Application name or alias.")] = None,
    host: Annotated[str | None, Field(description="Host name, e.g. 'node-1' (default: the alert's).")] = None,
    time_range: Annotated[str | None, Field(description="Incident window instead of an alert's.")] = None,
    start: TimeText = None,
    end: TimeText = None,
    datasource: Datasource = None,
) -> Annotated[CallToolResult, ImpactResult]:
    """Was the server or app impacted during an incident? CPU, memory, disk, network, availability,
    error ratio and p95 latency in the incident window (an alert's, by default the latest) against
    the same window the previous day and the hour before: peak, mean, ratios and a verdict per
    signal, with the alert's stored analysis and the questions already asked about it."""
    rt = runtime(ctx)
    target = await resolve(rt, alert_id, app, host, time_range, start, end)
    lo, hi = target.start.timestamp(), target.end.timestamp()
    step, rate_window = resolution(rt, hi - lo, WINDOW_POINTS)
    specs = host_signals() if target.host else []
    matcher = host_matcher(target.host) if target.host else ""
    if target.app_labels:
        metrics = list(target.profile.default_metrics or []) if target.profile else []
        specs += app_signals(AppSelectors.of(target.app_labels, metrics))
    windows = windows_of(lo, hi)
    spans = {name: align_range(a, b, step) for name, (a, b) in windows.items()}
    expected = {name: points(b - a, step) for name, (a, b) in spans.items()}
    client = await rt.prometheus(
        datasource or (target.profile.prometheus_datasource if target.profile else None)
    )
    queries = {spec.name: spec.query(matcher, rate_window) for spec in specs}

    def fetch(query: str, span: tuple[float, float]) -> Callable[[], Awaitable[QueryData]]:
        return lambda: client.query_range(query, span[0], span[1], step)

    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        f"{name} {w}": fetch(query, span) for name, query in queries.items() for w, span in spans.items()
    }
    alert = target.alert
    if alert is not None:
        calls["chat"] = lambda: chat_questions(rt, alert)
    fetched = await gather(calls)
    signals = [judge(spec, queries[spec.name], fetched, expected) for spec in specs]
    missing = [f"{name}: {reason}" for name, reason in sorted(fetched.failures.items())]
    if not target.host:
        missing.append("host signals: no host known (give host=...)")
    if not target.app_labels:
        missing.append("app signals: no application profile with metric labels (give app=...)")
    judged = impact_verdict({s.signal: s.impacted for s in signals})
    status = Status.PARTIAL if fetched.failures else Status.EMPTY if judged.status == "no data" else Status.OK
    result = ImpactResult(
        status=status,
        verdict=judged.status,
        impacted=list(judged.impacted),
        alert_id=target.alert.id if target.alert else None,
        app=target.profile.name if target.profile else None,
        host=target.host,
        instance=target.instance,
        windows={name: [iso(a) or "", iso(b) or ""] for name, (a, b) in windows.items()},
        step_seconds=step,
        datasource=client.name,
        signals=signals,
        missing=missing,
        ai_analysis=target.alert.ai_analysis if target.alert else None,
        chat_questions=fetched.get("chat") or [],
    )
    return tool_result(result, render(result, rt.settings.max_result_bytes))


def register(server: MCPServer) -> None:
    add_tools(server, incident_impact)
