"""Incident prompts: an alert or an application's context, plus the exact tool calls to make.

Each prompt embeds what the store knows (the application profile: architecture, SLOs, label
mappings; the alert: labels, annotations, times, AI analysis, questions already asked in chats)
and names the tools to call with concrete arguments, PromQL and LogQL built from the profile's
label mappings, so a model goes straight to the evidence.

    investigate_alert(alert_id)      why did this alert fire?
    app_health_report(app, period)   was the app healthy (against its SLOs)?
    incident_impact(alert_id)        what else was affected while it fired?
    explain_app(app)                 what is this app, where are its metrics and logs?
"""

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS
from pydantic import Field

from aiops_mcp.query.errors import QueryInputError
from aiops_mcp.query.logql.build import stream_selector
from aiops_mcp.query.promql import selector
from aiops_mcp.query.timerange import parse_time_range
from aiops_mcp.runtime import runtime

if TYPE_CHECKING:  # the store (SQLAlchemy) loads on first use, not at start-up
    from aiops_mcp.store import AlertFilter, Store
    from aiops_mcp.store.models import Alert, ApplicationProfile

AlertId = Annotated[str, Field(description="Alert id (e.g. '12'), or an alertname for its newest alert.")]
AppName = Annotated[str, Field(description="Application name or alias, e.g. 'abc-app'.")]
MARGIN = timedelta(minutes=15)
KNOWN_SHOWN = 15


class UnknownName(MCPError):
    """An alert or application that the store does not know; the message lists the known ones.

    An `MCPError`, because the SDK replaces any other prompt error with a generic message."""

    def __init__(self, message: str) -> None:
        super().__init__(INVALID_PARAMS, message)


async def store_of(ctx: Context) -> "Store":
    """The runtime's store; an `MCPError` the host can show when it cannot be opened."""
    from aiops_mcp.store import StoreError

    try:
        return await runtime(ctx).store()
    except StoreError as error:
        raise MCPError(INTERNAL_ERROR, f"the AIOps store is unavailable: {error}") from None


def _filter(**criteria: Any) -> "AlertFilter":
    """An alert filter, imported on use so that the prompts load without SQLAlchemy."""
    from aiops_mcp.store import AlertFilter

    return AlertFilter(**criteria)


def when(moment: datetime | None) -> str:
    """UTC ISO-8601 to the second, or 'still firing'."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else "still firing"


def app_queries(mappings: Mapping[str, Any]) -> dict[str, str]:
    """Concrete PromQL and LogQL for an app from its service mappings (values escaped)."""
    queries: dict[str, str] = {}
    metrics: dict[str, str] = dict(mappings.get("metrics") or {})
    if metrics:
        inner = selector(None, metrics)[1:-1]
        requests = f"sum(rate(http_requests_total{{{inner}}}[5m]))"
        queries["error_ratio"] = f'sum(rate(http_requests_total{{{inner},status=~"5.."}}[5m])) / {requests}'
        buckets = f"rate(http_request_duration_seconds_bucket{{{inner}}}[5m])"
        queries["p95_latency"] = f"histogram_quantile(0.95, sum by (le) ({buckets}))"
        queries["up"] = f"up{{{inner}}}"
        queries["request_rate"] = f"sum by (instance) (rate(http_requests_total{{{inner}}}[5m]))"
    logs: dict[str, str] = dict(mappings.get("logs") or {})
    if logs:
        stream = stream_selector(logs)
        queries["error_logs"] = f'{stream} |~ "(?i)(error|exception|timeout|5[0-9][0-9])"'
        queries["log_levels"] = f"sum by (level) (count_over_time({stream}[5m]))"
    return queries


def profile_text(profile: "ApplicationProfile") -> str:
    """The profile as the model should read it."""
    architecture = profile.architecture_info
    if not isinstance(architecture, str):
        architecture = json.dumps(architecture, sort_keys=True) if architecture else "not described"
    mappings = profile.service_mappings or {}
    lines = [
        f"Application profile: {profile.name}"
        + (f" (aliases: {', '.join(profile.aliases)})" if profile.aliases else ""),
        f"- description: {profile.description or 'none'}",
        f"- architecture: {architecture}",
        f"- SLOs: {json.dumps(profile.slos, sort_keys=True) if profile.slos else 'none set'}",
        f"- metric labels: {json.dumps(mappings.get('metrics') or {}, sort_keys=True)}",
        f"- log labels: {json.dumps(mappings.get('logs') or {}, sort_keys=True)}",
        f"- default metrics: {', '.join(profile.default_metrics) or 'none'}",
    ]
    if profile.prometheus_datasource or profile.loki_datasource:
        lines.append(
            f"- datasources: prometheus={profile.prometheus_datasource or 'default'}, "
            f"loki={profile.loki_datasource or 'default'} (pass them as datasource=...)"
        )
    return "\n".join(lines)


def alert_text(alert: "Alert", questions: list[str]) -> str:
    """The alert as the model should read it, with the questions people already asked about it."""
    lines = [
        f"Alert #{alert.id}: {alert.alertname} ({alert.status}, severity {alert.severity or 'unset'})",
        f"- app: {alert.app or 'none'}; instance: {alert.instance or 'none'}; job: {alert.job or 'none'}",
        f"- started {when(alert.starts_at)}, ended {when(alert.ends_at)}",
        f"- labels: {json.dumps(alert.labels, sort_keys=True)}",
        f"- annotations: {json.dumps(alert.annotations, sort_keys=True)}",
        f"- earlier AI analysis: {alert.ai_analysis or 'none'}",
    ]
    if questions:
        lines.append("- questions already asked about it: " + " | ".join(questions))
    return "\n".join(lines)


def calls(steps: list[tuple[str, dict[str, Any]]]) -> str:
    """Numbered tool calls with their JSON arguments."""
    return "\n".join(f"{i}. {tool}({json.dumps(args)})" for i, (tool, args) in enumerate(steps, 1))


async def find_alert(store: "Store", alert_id: str) -> "Alert":
    """The alert with this id, or the newest with this alertname; `UnknownName` listing known ones."""
    from aiops_mcp.store.types import stored_id

    wanted = alert_id.strip().lstrip("#")
    ident = stored_id(wanted)
    alert = await store.alerts.get(ident) if ident else None
    if alert is None and wanted and not (wanted.isascii() and wanted.isdigit()):
        found = (await store.alerts.recent(_filter(alertname=wanted), limit=1)).items
        alert = found[0] if found else None
    if alert is not None:
        return alert
    recent = (await store.alerts.recent(limit=50)).items
    labels = {
        f"{a.alertname} #{a.id}": f"#{a.id} {a.alertname} ({a.app or a.instance or '-'}, {when(a.starts_at)})"
        for a in recent
    }
    from aiops_mcp.store.repositories.profiles import closest_first

    order = closest_first(wanted, labels)
    known = "; ".join(labels[key] for key in order[:KNOWN_SHOWN]) or "none (the store has no alerts)"
    raise UnknownName(f"no alert {alert_id!r}; known alerts (closest first): {known}")


async def find_app(store: "Store", name: str) -> "ApplicationProfile":
    """The profile called ``name`` (or aliased so); `UnknownName` listing known ones, closest first."""
    from aiops_mcp.store import NotFound

    try:
        return await store.profiles.require(name)
    except NotFound as error:
        raise UnknownName(str(error)) from None


async def questions_about(store: "Store", alert: "Alert") -> list[str]:
    """The user questions of every chat about ``alert``, oldest first."""
    asked = []
    for session in await store.chats.sessions_for_alert(alert.id):
        asked += [m.content for m in await store.chats.messages(session.id) if m.role == "user"]
    return asked


def investigation_steps(profile: "ApplicationProfile | None", alert: "Alert", start: str, end: str) -> str:
    """The tool calls that show the alert's signal, its app's health and logs around it."""
    window = {"start": start, "end": end}
    steps: list[tuple[str, dict[str, Any]]] = []
    queries = app_queries(profile.service_mappings) if profile else {}
    prom_ds = (
        {"datasource": profile.prometheus_datasource} if profile and profile.prometheus_datasource else {}
    )
    loki_ds = {"datasource": profile.loki_datasource} if profile and profile.loki_datasource else {}
    for key in ("error_ratio", "p95_latency", "up"):
        if key in queries:
            steps.append(("prometheus_query_range", {"query": queries[key], **window, **prom_ds}))
    if alert.instance:
        steps.append(
            ("prometheus_query_range", {"query": selector("up", {"instance": alert.instance}), **window})
        )
        if alert.job == "node" or alert.instance.endswith(":9100"):
            host = selector(None, {"instance": alert.instance})[1:-1]
            cpu = f'1 - avg(rate(node_cpu_seconds_total{{{host},mode="idle"}}[5m]))'
            steps.append(("prometheus_query_range", {"query": cpu, **window}))
    if "error_logs" in queries:
        steps.append(("loki_query_logs", {"query": queries["error_logs"], **window, "limit": 50, **loki_ds}))
    if not steps:
        steps.append(("prometheus_find_metrics", {"search": alert.alertname.lower()[:20]}))
    return calls(steps)


async def investigate_alert(alert_id: AlertId, ctx: Context) -> str:
    """Investigate why an alert fired: its context, its app's profile and the exact queries to run."""
    store = await store_of(ctx)
    alert = await find_alert(store, alert_id)
    profile = await store.profiles.find(alert.app) if alert.app else None
    start, end = when(alert.starts_at - MARGIN), when((alert.ends_at or alert.starts_at) + MARGIN)
    parts = [
        f"Investigate why alert #{alert.id} ({alert.alertname}) fired and what caused it. Cite the "
        "query, datasource and window of every number you give. Compare with the SLOs.",
        alert_text(alert, await questions_about(store, alert)),
        profile_text(profile) if profile else f"No application profile matches app {alert.app!r}.",
        f"Call these tools (window {start} to {end}, 15 minutes either side):",
        investigation_steps(profile, alert, start, end),
        "Then answer: what happened, when it started and ended, the likely cause, and whether "
        "the earlier AI analysis holds. Answer the earlier questions too.",
    ]
    return "\n\n".join(parts)


async def app_health_report(
    app: AppName,
    ctx: Context,
    period: Annotated[str, Field(description="'yesterday', 'last 24h', 'today', a date...")] = "last 24h",
) -> str:
    """Report an application's health over a period against its SLOs, with the alerts it had."""
    rt = runtime(ctx)
    store = await store_of(ctx)
    profile = await find_app(store, app)
    try:
        window = parse_time_range(
            period, now=rt.now(), max_range=timedelta(hours=rt.settings.max_query_range_hours)
        )
    except QueryInputError as error:
        raise UnknownName(f"period {period!r}: {error}") from None
    since, until = window.start, window.end
    alerts = (await store.alerts.recent(_filter(app=profile.name, since=since, until=until), limit=50)).items
    listed = "\n".join(
        f"- #{a.id} {a.alertname} {a.severity or ''} {when(a.starts_at)} to {when(a.ends_at)}: "
        f"{a.annotations.get('summary', '')}"
        for a in alerts
    )
    queries = app_queries(profile.service_mappings)
    ds = {"datasource": profile.prometheus_datasource} if profile.prometheus_datasource else {}
    steps: list[tuple[str, dict[str, Any]]] = [
        ("app_health", {"app": profile.name, "time_range": period}),
        ("app_events", {"app": profile.name, "time_range": period}),
    ]
    steps += [
        ("prometheus_query_range", {"query": queries[k], "time_range": period, **ds})
        for k in ("up", "error_ratio", "p95_latency")
        if k in queries
    ]
    if "log_levels" in queries:
        steps.append(("loki_query_metrics", {"query": queries["log_levels"], "time_range": period}))
    if "error_logs" in queries:
        steps.append(("loki_query_logs", {"query": queries["error_logs"], "time_range": period, "limit": 20}))
    parts = [
        f"Was {profile.name} healthy {period} ({when(since)} to {when(until)})? Judge availability, "
        "error rate and p95 latency against the SLOs below, cite each query and window, and list breaches "
        "with their start and end.",
        profile_text(profile),
        f"Alerts for {profile.name} in the period ({len(alerts)}):\n{listed or '- none'}",
        "Call app_health first (the verdict, SLOs and breach windows computed from the data), then "
        "app_events; the raw queries after them show any breach in detail:\n" + calls(steps),
    ]
    return "\n\n".join(parts)


async def incident_impact(alert_id: AlertId, ctx: Context) -> str:
    """Assess an incident's impact: what else fired, which hosts and apps were affected, for how long."""
    store = await store_of(ctx)
    alert = await find_alert(store, alert_id)
    first, last = alert.starts_at - MARGIN, (alert.ends_at or alert.starts_at) + MARGIN
    around = (
        await store.alerts.recent(_filter(since=first - timedelta(hours=1), until=last), limit=100)
    ).items
    overlapping = [a for a in around if a.id != alert.id and (a.ends_at or last) >= first]
    listed = "\n".join(
        f"- #{a.id} {a.alertname} app={a.app or '-'} instance={a.instance or '-'} "
        f"{when(a.starts_at)} to {when(a.ends_at)}"
        for a in overlapping
    )
    apps = sorted({a.app for a in [alert, *overlapping] if a.app})
    profiles = [p for p in [await store.profiles.find(name) for name in apps] if p is not None]
    start, end = when(first), when(last)
    before = {"start": when(first - timedelta(hours=1)), "end": start}
    steps = investigation_steps(profiles[0] if profiles else None, alert, start, end)
    baseline = [
        ("prometheus_query_range", {"query": q, **before})
        for p in profiles
        for k, q in app_queries(p.service_mappings).items()
        if k == "error_ratio"
    ]
    parts = [
        f"Assess the impact of alert #{alert.id} ({alert.alertname}): which applications, instances "
        "and hosts were affected, how badly (compared with the hour before), for how long, and which "
        "SLOs were breached. Cite every query and window.",
        alert_text(alert, await questions_about(store, alert)),
        f"Alerts overlapping {start} to {end} ({len(overlapping)}):\n{listed or '- none'}",
        *(profile_text(p) for p in profiles),
        "Call incident_impact first: it compares CPU, memory, disk, network, availability, errors and "
        "latency in the alert's window with the previous day and the hour before:\n"
        + calls([("incident_impact", {"alert_id": alert.id})]),
        f"Then, for detail (incident window {start} to {end}):\n{steps}",
        "Baseline (the hour before):\n" + (calls(baseline) or "- none"),
    ]
    return "\n\n".join(parts)


async def explain_app(app: AppName, ctx: Context) -> str:
    """Explain an application: its profile, recent alerts and where its metrics and logs are."""
    store = await store_of(ctx)
    profile = await find_app(store, app)
    alerts = await store.alerts.for_app(profile.name, limit=10)
    listed = "\n".join(f"- #{a.id} {a.alertname} {a.status} {when(a.starts_at)}" for a in alerts)
    sessions = await store.chats.sessions_for_app(profile.name, limit=5)
    metrics = (profile.service_mappings or {}).get("metrics") or {}
    logs = (profile.service_mappings or {}).get("logs") or {}
    steps: list[tuple[str, dict[str, Any]]] = []
    if metrics:
        steps.append(("prometheus_list_labels", {"match": selector("up", metrics)}))
        steps.append(("prometheus_find_metrics", {"search": "http"}))
    if logs:
        steps.append(("loki_list_labels", {"label": "level", "selector": stream_selector(logs)}))
    parts = [
        f"Explain {profile.name} to an on-call engineer: what it is, its components and dependencies, "
        "how to find its metrics and logs, its SLOs and its recent trouble.",
        profile_text(profile),
        f"Recent alerts:\n{listed or '- none'}",
        "Recent chats: " + ("; ".join(s.title or f"session {s.id}" for s in sessions) or "none"),
        "Ready-made queries:\n"
        + "\n".join(f"- {k}: {q}" for k, q in app_queries(profile.service_mappings).items()),
        "To discover more, call:\n" + (calls(steps) or "- prometheus_find_metrics({})"),
    ]
    return "\n\n".join(parts)


def register(server: MCPServer[Any]) -> None:
    """Add the incident prompts to ``server``."""
    for fn in (investigate_alert, app_health_report, incident_impact, explain_app):
        server.prompt()(fn)
