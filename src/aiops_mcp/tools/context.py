"""Everything known about an alert, for its investigation, in one answer sized to a token budget.

`investigation_context` takes a stored alert, or an app (its newest stored alert is used; without
one the context has no alert part), and assembles these parts in priority order, each citing its
source (a resource URI, or the query that produced it):

1. ``alert``: names, severity, status, times, labels, summary and the stored AI analysis.
2. ``profile``: the profile of the alert's ``app`` (or of the `app` argument).
3. ``related_alerts``: the app's other alerts that started in [start - 1 h, start + 1 h).
4. ``metrics``: availability, 5xx ratio and p95 latency over 1 h, 24 h and 7 d ending at the
   alert's end (now while it fires), nine instant PromQL queries run in parallel with the
   selectors of `app_health`: ``avg(avg_over_time(up{..}[W]))``, ``(sum(increase(<requests>{..,
   status=~"5.."}[W])) or vector(0)) / sum(increase(<requests>{..}[W]))`` and
   ``histogram_quantile(0.95, sum by (le) (increase(<buckets>{..}[W])))``.
5. ``error_logs``: the 10 newest lines of the app's log streams with ``detected_level`` error or
   critical, from 15 min before the alert's start to its end (Loki's log window is [start, end);
   without an alert, the last hour), each cut to ``max_line_chars``.
6. ``similar_incidents``: earlier alerts with the same alertname or instance, with their analyses
   (300 characters each).
7. ``chat_history``: chat sessions about the alert and about the similar ones, with the questions
   users asked (without an alert: the app's newest sessions).

The store reads, the metrics and the logs run in parallel. A fetch that fails (Prometheus down,
no Loki configured, one metric query rejected) is named in `missing` and makes the status partial;
a part that does not apply (no alert, an alert without an app) is named there too, status unchanged.
The parts are then packed into the budget by `aiops_mcp.analysis.budget` (tokens estimated as
ceil(UTF-8 bytes / 4)): a part that does not fit keeps its leading lines, the ones after it are
omitted. The text is a status line, then each part headed ``## <name> (source: ...)``.
"""

import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from aiops_mcp.analysis.budget import Part, clip_to_tokens, line_tokens, pack
from aiops_mcp.analysis.logs import clip_line
from aiops_mcp.analysis.series import format_number
from aiops_mcp.datasources.models import LogEntry, QueryData
from aiops_mcp.query.logql import stream_selector
from aiops_mcp.resources.alerts import alert_uri, app_alerts_uri
from aiops_mcp.resources.catalog import app_uri
from aiops_mcp.runtime import Runtime, runtime
from aiops_mcp.tools.answering import AppSelectors, Gathered, find_profile, gather, profile_labels
from aiops_mcp.tools.contract import Status, iso, label_text, tool_result
from aiops_mcp.tools.guard import guarded
from aiops_mcp.tools.registration import add_tools

if TYPE_CHECKING:
    from aiops_mcp.store import Store
    from aiops_mcp.store.models import Alert, ApplicationProfile, ChatSession

PART_NAMES = (
    "alert",
    "profile",
    "related_alerts",
    "metrics",
    "error_logs",
    "similar_incidents",
    "chat_history",
)
WINDOWS = ("1h", "24h", "7d")
RELATED_SPAN = timedelta(hours=1)
RELATED_LIMIT = 20
LOG_LEAD = timedelta(minutes=15)
LOG_LINES = 10
QUIET_LOGS = timedelta(hours=1)
"""Without an alert, error logs of the last hour."""
# Loki 3 stores the level it detects (from a level label, a logfmt/JSON level field or the words
# in the line) as structured metadata, which a label filter matches; the Loki double merges it into
# the labels the same way. Matching the level this way, not the line text, works for any log format.
ERROR_FILTER = ' | detected_level=~"error|critical"'
SIMILAR_LIMIT = 5
CHAT_SESSIONS = 10
QUESTIONS = 10
ANALYSIS_CHARS = 2_000
TEXT_CHARS = 300
STATUS_TOKENS = 100
"""Most tokens the status line may take; longer reasons are cut (they are whole in `missing`)."""


class ContextPart(BaseModel):
    """One part as kept: `text` is its lines under the title; `tokens` counts the title too."""

    name: str
    source: str
    tokens: int
    truncated: bool = False
    lines_dropped: int = 0
    text: str


class ContextResult(BaseModel):
    """The parts kept, in priority order, within the token budget."""

    status: Status
    alert_id: int | None
    app: str | None
    token_budget: int
    tokens_used: int = Field(description="Estimated tokens of the text (UTF-8 bytes / 4).")
    parts: list[ContextPart]
    omitted: list[str] = Field(default_factory=list, description="Parts left out for the budget.")
    missing: list[str] = Field(default_factory=list, description="'part: why' for parts not available.")


def _at(moment: datetime | None) -> str:
    return (iso(moment.timestamp()) if moment else None) or "-"


def _labelled(label: str, text: str | None, chars: int) -> list[str]:
    """`label: text` cut to `chars`, one item line per line of the text."""
    first, *rest = clip_line(text or "none", chars)[0].splitlines() or [""]
    return [f"{label}: {first}", *rest]


def alert_lines(alert: "Alert") -> list[str]:
    annotations = alert.annotations or {}
    when = (
        f"{_at(alert.starts_at)} to {_at(alert.ends_at)}"
        if alert.ends_at
        else f"since {_at(alert.starts_at)}"
    )
    lines = [f"{alert.alertname} [{alert.severity or '-'}] {alert.status}: {when}"]
    lines.append(f"labels: {label_text({str(k): str(v) for k, v in (alert.labels or {}).items()})}")
    summary = annotations.get("summary") or annotations.get("description")
    if summary:
        lines += _labelled("summary", str(summary), TEXT_CHARS)
    return lines + _labelled("ai_analysis", alert.ai_analysis, ANALYSIS_CHARS)


def profile_lines(profile: "ApplicationProfile") -> list[str]:
    lines = _labelled(profile.name, profile.description, TEXT_CHARS)
    if profile.aliases:
        lines.append(f"aliases: {', '.join(map(str, profile.aliases))}")
    for kind in ("metrics", "logs"):
        labels = profile_labels(profile, kind)
        if labels:
            lines.append(f"{kind} labels: {label_text(labels)}")
    slos = {k: v for k, v in (profile.slos or {}).items() if v is not None}
    if slos:
        lines.append("SLOs: " + ", ".join(f"{k} {format_number(float(v))}" for k, v in slos.items()))
    info = profile.architecture_info
    if info:
        text = info if isinstance(info, str) else json.dumps(info, ensure_ascii=False)
        lines += _labelled("architecture", text, ANALYSIS_CHARS)
    return lines


def _alert_line(alert: "Alert") -> str:
    return f"{alert_uri(alert.id)} {alert.alertname} [{alert.severity or '-'}] started {_at(alert.starts_at)}"


def metric_queries(labels: dict[str, str], default_metrics: list[str]) -> dict[str, tuple[str, str, float]]:
    """'<signal> <window>' -> (PromQL, unit, scale), 1 h figures first."""
    app = AppSelectors.of(labels, default_metrics)
    errors, total, buckets = app.errors, app.requests, app.buckets
    out = {}
    for w in WINDOWS:
        out[f"availability {w}"] = (f"avg(avg_over_time({app.up}[{w}]))", "%", 100.0)
        out[f"error_ratio {w}"] = (
            f"(sum(increase({errors}[{w}])) or vector(0)) / sum(increase({total}[{w}]))",
            "%",
            100.0,
        )
        out[f"p95_latency {w}"] = (
            f"histogram_quantile(0.95, sum by (le) (increase({buckets}[{w}])))",
            "ms",
            1000.0,
        )
    return out


def _value(data: QueryData) -> float | None:
    """The one value of an aggregated instant answer; None without data (or NaN: no traffic)."""
    values = data.series[0].values if data.series else []
    return values[-1] if values and not math.isnan(values[-1]) else None


def metric_lines(queries: dict[str, tuple[str, str, float]], data: dict[str, QueryData]) -> list[str]:
    lines = []
    for name, (query, unit, scale) in queries.items():
        if name in data:
            value = _value(data[name])
            shown = f"{format_number(value * scale)} {unit}" if value is not None else "no data"
            lines.append(f"{name}: {shown}; query: {query}")
    return lines


def log_lines(entries: list[LogEntry], max_chars: int) -> list[str]:
    out = []
    for entry in entries:
        instance = entry.labels.get("instance")
        line = clip_line(entry.line, max_chars)[0]
        out.append(f"{iso(entry.timestamp_ns / 1e9)} {instance + ' ' if instance else ''}{line}")
    return out or ["no error lines in the window"]


def similar_lines(similar: list["Alert"]) -> list[str]:
    lines = []
    for alert in similar:
        analysis = clip_line(alert.ai_analysis or "no AI analysis", TEXT_CHARS)[0]
        lines.append(f"{_alert_line(alert)}: {' '.join(analysis.split())}")
    return lines or ["no earlier alert with the same alertname or instance"]


Chats = list[tuple["ChatSession", list[str]]]


def chat_lines(chats: Chats) -> list[str]:
    lines = []
    for session, questions in chats:
        about = f" (about {alert_uri(session.alert_id)})" if session.alert_id else ""
        lines.append(f"aiops://chats/{session.id} {session.title or 'untitled'!r}{about}")
        lines += [f"  asked: {' '.join(clip_line(q, TEXT_CHARS)[0].split())}" for q in questions[:QUESTIONS]]
    return lines or ["no chat sessions"]


async def _open_store(rt: Runtime) -> "Store":
    from aiops_mcp.store import StoreError

    try:
        return await rt.store()
    except StoreError as error:
        raise ToolError(f"the AIOps store is unavailable: {error}") from None


async def _subject(
    rt: Runtime, store: "Store", alert_id: int | None, app: str | None
) -> tuple["Alert | None", "ApplicationProfile | None", str | None]:
    """The alert (by id, or the app's newest), the app's profile and the app's name."""
    from aiops_mcp.store import AlertFilter

    if alert_id is not None:
        alert = await store.alerts.get(alert_id)
        if alert is None:
            raise ToolError(f"alert {alert_id} not found; alert ids are the `id` fields of aiops://alerts")
        profile = await store.profiles.find(alert.app) if alert.app else None
        return alert, profile, profile.name if profile else alert.app
    assert app is not None
    profile = await store.profiles.find(app)
    name = profile.name if profile else app
    newest = (await store.alerts.recent(AlertFilter(app=name), limit=1)).items
    if profile is None and not newest:
        profile = await find_profile(rt, app)  # a not-found error listing the known apps
    return (newest[0] if newest else None), profile, name


async def _related(store: "Store", alert: "Alert", app: str) -> list[str]:
    from aiops_mcp.store import AlertFilter

    since, until = alert.starts_at - RELATED_SPAN, alert.starts_at + RELATED_SPAN
    page = await store.alerts.recent(AlertFilter(app=app, since=since, until=until), limit=RELATED_LIMIT + 1)
    others = [a for a in page.items if a.id != alert.id]
    lines = [f"{_alert_line(a)}, {a.status}" for a in others[:RELATED_LIMIT]]
    if len(others) > RELATED_LIMIT or page.next_cursor:
        lines.append("more alerts in that span: read the source")
    return lines or [f"no other {app} alert started within 1 h of this one"]


async def _chats(store: "Store", alert: "Alert | None", app: str | None) -> Chats:
    """The chat sessions about the alert and the similar ones (without an alert: the app's newest)."""
    if alert is None:
        sessions = await store.chats.sessions_for_app(app, limit=CHAT_SESSIONS) if app else []
    else:
        similar = await store.alerts.similar(alert.id, limit=SIMILAR_LIMIT)
        sessions = [s for a in (alert, *similar) for s in await store.chats.sessions_for_alert(a.id)]
    chats = []
    for session in sessions[:CHAT_SESSIONS]:
        messages = await store.chats.messages(session.id)
        chats.append((session, [m.content for m in messages if m.role == "user"]))
    return chats


async def _metrics(
    rt: Runtime, datasource: str | None, queries: dict[str, tuple[str, str, float]], at: float
) -> tuple[str, dict[str, QueryData], dict[str, str]]:
    """The datasource's name, each answered query's data, and the failures by query name."""
    client = await rt.prometheus(datasource)
    got = await gather({name: partial(client.query, query, at) for name, (query, _, _) in queries.items()})
    return client.name, got.values, got.failures


async def _errors(rt: Runtime, datasource: str | None, query: str, lo: float, hi: float) -> list[LogEntry]:
    client = await rt.loki(datasource)
    data = await client.query_range(query, lo, hi, limit=LOG_LINES, direction="backward")
    return data.entries[:LOG_LINES]


def _status_line(head: str, status: Status, omitted: list[str], missing: list[str]) -> str:
    line = f"{head} [{status}]"
    if omitted:
        line += f"; omitted for the token budget: {', '.join(omitted)}"
    return line + "".join(f"; missing {reason}" for reason in missing)


def build_result(
    head: str,
    parts: list[tuple[Part, str]],
    missing: list[str],
    failed: bool,
    budget: int,
    ids: tuple[int | None, str | None],
) -> tuple[ContextResult, str]:
    """Pack the parts (each with its source) into the budget, after room for the status line."""
    worst = _status_line(head, Status.TRUNCATED, [p.name for p, _ in parts], missing)
    reserve = min(STATUS_TOKENS, line_tokens(worst))
    packing = pack([p for p, _ in parts], budget - reserve)
    sources = {p.name: source for p, source in parts}
    cut = bool(packing.omitted) or any(p.truncated for p in packing.parts)
    status = Status.PARTIAL if failed else Status.TRUNCATED if cut else Status.OK
    line = clip_to_tokens(_status_line(head, status, list(packing.omitted), missing), reserve)
    result = ContextResult(
        status=status,
        alert_id=ids[0],
        app=ids[1],
        token_budget=budget,
        tokens_used=line_tokens(line) + packing.tokens,
        parts=[
            ContextPart(
                name=p.name,
                source=sources[p.name],
                tokens=p.tokens,
                truncated=p.truncated,
                lines_dropped=p.dropped,
                text="\n".join(p.lines),
            )
            for p in packing.parts
        ],
        omitted=list(packing.omitted),
        missing=missing,
    )
    return result, "\n".join((line, packing.text))


def _part(name: str, source: str, lines: list[str]) -> tuple[Part, str]:
    return Part(name, f"## {name} (source: {source})", tuple(lines)), source


@dataclass
class Plan:
    """What to fetch for the subject: its times (unix seconds), queries, and the parts that do not apply."""

    alert: "Alert | None"
    profile: "ApplicationProfile | None"
    app: str | None
    end: float
    log_start: float
    queries: dict[str, tuple[str, str, float]] = field(default_factory=dict)
    log_query: str = ""
    absent: dict[str, str] = field(default_factory=dict)


def make_plan(
    alert: "Alert | None", profile: "ApplicationProfile | None", app: str | None, now: float
) -> Plan:
    """The windows end at the alert's end (now while it fires); logs start 15 min before it."""
    if alert is None:
        plan = Plan(None, profile, app, now, now - QUIET_LOGS.total_seconds())
        plan.absent = {"alert": f"{app} has no stored alert", "related_alerts": "no alert"}
        plan.absent["similar_incidents"] = "no alert"
    else:
        resolved = alert.status == "resolved" and alert.ends_at is not None
        end = alert.ends_at.timestamp() if alert.ends_at and resolved else now
        plan = Plan(alert, profile, app, end, alert.starts_at.timestamp() - LOG_LEAD.total_seconds())
        if not app:
            plan.absent = {n: f"alert {alert.id} has no app label" for n in ("profile", "related_alerts")}
    if profile is None:
        plan.absent.setdefault("profile", f"no application profile for {app}")
        plan.absent |= {"metrics": "no application profile", "error_logs": "no application profile"}
        return plan
    labels = profile_labels(profile, "metrics")
    if labels:
        plan.queries = metric_queries(labels, list(profile.default_metrics or []))
    else:
        plan.absent["metrics"] = "the profile maps no metric labels (service_mappings.metrics)"
    logs = profile_labels(profile, "logs")
    if logs:
        plan.log_query = stream_selector(logs) + ERROR_FILTER
    else:
        plan.absent["error_logs"] = "the profile maps no log labels (service_mappings.logs)"
    return plan


def _calls(rt: Runtime, store: "Store", plan: Plan) -> dict[str, Callable[[], Awaitable[Any]]]:
    """The fetches the plan needs, by part name."""
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "chat_history": partial(_chats, store, plan.alert, plan.app)
    }
    if plan.alert is not None:
        calls["similar_incidents"] = partial(store.alerts.similar, plan.alert.id, limit=SIMILAR_LIMIT)
        if plan.app:
            calls["related_alerts"] = partial(_related, store, plan.alert, plan.app)
    if plan.profile is not None and plan.queries:
        calls["metrics"] = partial(_metrics, rt, plan.profile.prometheus_datasource, plan.queries, plan.end)
    if plan.profile is not None and plan.log_query:
        source = plan.profile.loki_datasource
        calls["error_logs"] = partial(_errors, rt, source, plan.log_query, plan.log_start, plan.end)
    return calls


def assemble(plan: Plan, got: Gathered[Any], max_chars: int) -> tuple[list[tuple[Part, str]], dict[str, str]]:
    """The parts in priority order (each with its source) from what was fetched, and the failures."""
    failures = dict(got.failures)
    parts: list[tuple[Part, str]] = []
    if plan.alert:
        parts.append(_part("alert", alert_uri(plan.alert.id), alert_lines(plan.alert)))
    if plan.profile:
        parts.append(_part("profile", app_uri(plan.profile.name), profile_lines(plan.profile)))
    if "related_alerts" in got.values and plan.app:
        parts.append(_part("related_alerts", app_alerts_uri(plan.app), got.values["related_alerts"]))
    if "metrics" in got.values:
        name, data, failed = got.values["metrics"]
        failures |= {f"metrics {query}": reason for query, reason in failed.items()}
        source = f"PromQL on {name} at {iso(plan.end)}"
        parts.append(_part("metrics", source, metric_lines(plan.queries, data)))
    if "error_logs" in got.values:
        source = f"{plan.log_query} over [{iso(plan.log_start)}, {iso(plan.end)})"
        parts.append(_part("error_logs", source, log_lines(got.values["error_logs"], max_chars)))
    if "similar_incidents" in got.values and plan.alert:
        parts.append(
            _part(
                "similar_incidents", alert_uri(plan.alert.id), similar_lines(got.values["similar_incidents"])
            )
        )
    if "chat_history" in got.values:
        chats = got.values["chat_history"]
        uris = ", ".join(f"aiops://chats/{session.id}" for session, _ in chats) or "none"
        source = f"{alert_uri(plan.alert.id)}/chats" if plan.alert else uris
        parts.append(_part("chat_history", source, chat_lines(chats)))
    return parts, failures


@guarded
async def investigation_context(
    ctx: Context,
    alert_id: Annotated[int | None, Field(ge=1, description="A stored alert's id (aiops://alerts).")] = None,
    app: Annotated[str | None, Field(description="Or an app name or alias: its newest alert.")] = None,
    token_budget: Annotated[int, Field(ge=500, le=32_000, description="Tokens the text may use.")] = 4000,
) -> Annotated[CallToolResult, ContextResult]:
    """Start an investigation here: one alert's context within a token budget, most important first:
    the alert and its AI analysis, the app's profile, its alerts within 1 h, availability, 5xx ratio
    and p95 over 1 h/24 h/7 d, recent error logs, similar past incidents and their analyses, and the
    questions asked in earlier chats. Each part cites its resource URI or query. Give alert_id or app."""
    if (alert_id is None) == (app is None):
        raise ToolError("give exactly one of alert_id (an id from aiops://alerts) or app")
    from aiops_mcp.store import StoreError

    rt = runtime(ctx)
    with rt.telemetry.context_build.time():
        store = await _open_store(rt)
        try:
            alert, profile, name = await _subject(rt, store, alert_id, app)
        except StoreError as error:
            raise ToolError(f"the AIOps store is unavailable: {error}") from None
        plan = make_plan(alert, profile, name, rt.now().timestamp())
        parts, failures = assemble(plan, await gather(_calls(rt, store, plan)), rt.settings.max_line_chars)
    reasons = plan.absent | failures
    missing = [f"{n}: {reasons[n]}" for n in sorted(reasons, key=_priority)]
    head = f"alert {alert.id} {alert.alertname} ({name or 'no app'})" if alert else f"{name}, no alert"
    ids = (alert.id if alert else None, name)
    result, text = build_result(head, parts, missing, bool(failures), token_budget, ids)
    return tool_result(result, text)


def _priority(name: str) -> tuple[int, str]:
    base = name.split(" ")[0]
    return (PART_NAMES.index(base) if base in PART_NAMES else len(PART_NAMES), name)


def register(server: MCPServer) -> None:
    add_tools(server, investigation_context)
