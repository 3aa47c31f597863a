"""Everything known about an alert, for its investigation, in one answer sized to a token budget.

`investigation_context` takes a stored alert, or an app (its newest stored alert is used; without
one the context has no alert part), fetches in parallel what `aiops_mcp.analysis.context` plans
(the parts, their order and their text are defined there) and sends the packed text:

- store reads: the alert, the profile, the app's alerts within 1 h of it, similar alerts, chats;
- ``metrics``: availability, 5xx ratio and p95 latency over 1 h, 24 h and 7 d ending at the
  alert's end (now while it fires), nine instant PromQL queries with the selectors of
  `app_health`: ``avg(avg_over_time(up{..}[W]))``, ``(sum(increase(<requests>{..,
  status=~"5.."}[W])) or vector(0)) / sum(increase(<requests>{..}[W]))`` and
  ``histogram_quantile(0.95, sum by (le) (increase(<buckets>{..}[W])))``;
- ``error_logs``: the 10 newest lines of the app's streams with ``detected_level`` error or
  critical, from 15 min before the alert's start to its end (Loki's window is [start, end);
  without an alert, the last hour), each cut to ``max_line_chars``.

The budget covers what is sent: the text (a status line, then each part headed ``## <name>
(source: ...)``) and the structured content, which describes the parts (source, tokens, cut)
without repeating their text. Tokens are estimated as ceil(UTF-8 bytes / 4), the structured
content as compact JSON; the room for it (at its largest, for the parts kept) is set aside before
the parts are packed, so `tokens_used` never exceeds the budget.
"""

import math
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from aiops_mcp.analysis.budget import json_tokens
from aiops_mcp.analysis.context import (
    CHAT_SESSIONS,
    LOG_LINES,
    RELATED_LIMIT,
    RELATED_SPAN,
    SIMILAR_LIMIT,
    BuiltContext,
    Chats,
    Links,
    MetricQuery,
    Metrics,
    Plan,
    Related,
    Section,
    assemble,
    build_context,
    make_plan,
    missing_reasons,
)
from aiops_mcp.datasources.models import LogEntry, QueryData
from aiops_mcp.query.logql import stream_selector
from aiops_mcp.resources.alerts import alert_uri, app_alerts_uri
from aiops_mcp.resources.catalog import app_uri
from aiops_mcp.runtime import Runtime, runtime
from aiops_mcp.tools.answering import AppSelectors, find_profile, gather, profile_labels
from aiops_mcp.tools.contract import Status, tool_result
from aiops_mcp.tools.guard import guarded
from aiops_mcp.tools.registration import add_tools

if TYPE_CHECKING:
    from aiops_mcp.store import Store
    from aiops_mcp.store.models import Alert, ApplicationProfile

WINDOWS = ("1h", "24h", "7d")
# Loki 3 stores the level it detects (from a level label, a logfmt/JSON level field or the words
# in the line) as structured metadata, which a label filter matches; the Loki double merges it into
# the labels the same way. Matching the level this way, not the line text, works for any log format.
ERROR_FILTER = ' | detected_level=~"error|critical"'
LINKS = Links(alert=alert_uri, app=app_uri, app_alerts=app_alerts_uri, chat=lambda i: f"aiops://chats/{i}")


class ContextPart(BaseModel):
    """A part kept in the text (under ``## <name> (source: ...)``); `tokens` counts its title too."""

    name: str
    source: str
    tokens: int
    truncated: bool = False
    lines_dropped: int = 0


class ContextResult(BaseModel):
    """The parts kept, in priority order; their text is the text content (not repeated here)."""

    status: Status
    alert_id: int | None
    app: str | None
    token_budget: int
    tokens_used: int = Field(description="Estimated tokens of the text plus this structured content.")
    parts: list[ContextPart]
    omitted: list[str] = Field(default_factory=list, description="Parts left out for the budget.")
    missing: list[str] = Field(default_factory=list, description="'part: why' for parts not available.")


def metric_queries(labels: dict[str, str], default_metrics: list[str]) -> dict[str, MetricQuery]:
    """'<signal> <window>' -> its query, 1 h figures first."""
    app = AppSelectors.of(labels, default_metrics)
    errors, total, buckets = app.errors, app.requests, app.buckets
    out = {}
    for w in WINDOWS:
        out[f"availability {w}"] = MetricQuery(f"avg(avg_over_time({app.up}[{w}]))", "%", 100.0)
        out[f"error_ratio {w}"] = MetricQuery(
            f"(sum(increase({errors}[{w}])) or vector(0)) / sum(increase({total}[{w}]))", "%", 100.0
        )
        out[f"p95_latency {w}"] = MetricQuery(
            f"histogram_quantile(0.95, sum by (le) (increase({buckets}[{w}])))", "ms", 1000.0
        )
    return out


def _value(data: QueryData) -> float | None:
    """The one value of an aggregated instant answer; None without data (or NaN, Inf: no traffic)."""
    values = data.series[0].values if data.series else []
    return values[-1] if values and math.isfinite(values[-1]) else None


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


def plan_for(
    alert: "Alert | None", profile: "ApplicationProfile | None", app: str | None, now: float
) -> Plan:
    """The analysis' plan, with the profile's metric queries and error-log query."""
    queries: dict[str, MetricQuery] = {}
    log_query = ""
    if profile is not None:
        labels, logs = profile_labels(profile, "metrics"), profile_labels(profile, "logs")
        queries = metric_queries(labels, list(profile.default_metrics or [])) if labels else {}
        log_query = stream_selector(logs) + ERROR_FILTER if logs else ""
    return make_plan(alert, profile, app, now, queries, log_query)


async def _related(store: "Store", alert: "Alert", app: str) -> Related:
    from aiops_mcp.store import AlertFilter

    since, until = alert.starts_at - RELATED_SPAN, alert.starts_at + RELATED_SPAN
    page = await store.alerts.recent(AlertFilter(app=app, since=since, until=until), limit=RELATED_LIMIT + 1)
    return Related(page.items, bool(page.next_cursor))


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


async def _metrics(rt: Runtime, datasource: str | None, plan: Plan) -> Metrics:
    client = await rt.prometheus(datasource)
    calls = {name: partial(client.query, q.query, plan.end) for name, q in plan.queries.items()}
    got = await gather(calls)
    return Metrics(client.name, {name: _value(data) for name, data in got.values.items()}, got.failures)


async def _errors(rt: Runtime, datasource: str | None, plan: Plan) -> list[LogEntry]:
    client = await rt.loki(datasource)
    data = await client.query_range(
        plan.log_query, plan.log_start, plan.end, limit=LOG_LINES, direction="backward"
    )
    return data.entries[:LOG_LINES]


def _calls(rt: Runtime, store: "Store", plan: Plan) -> dict[str, Callable[[], Awaitable[Any]]]:
    """The fetch of each part the plan asks for."""
    alert, profile = plan.alert, plan.profile
    calls: dict[str, Callable[[], Awaitable[Any]]] = {"chat_history": partial(_chats, store, alert, plan.app)}
    if alert is not None:
        calls["similar_incidents"] = partial(store.alerts.similar, alert.id, limit=SIMILAR_LIMIT)
        if plan.app:
            calls["related_alerts"] = partial(_related, store, alert, plan.app)
    if profile is not None:
        calls["metrics"] = partial(_metrics, rt, profile.prometheus_datasource, plan)
        calls["error_logs"] = partial(_errors, rt, profile.loki_datasource, plan)
    return {name: call for name, call in calls.items() if name in plan.fetches}


def _result(
    built: BuiltContext, budget: int, ids: tuple[int | None, str | None], tokens_used: int
) -> ContextResult:
    return ContextResult(
        status=Status(built.status),
        alert_id=ids[0],
        app=ids[1],
        token_budget=budget,
        tokens_used=tokens_used,
        parts=[
            ContextPart(
                name=p.name,
                source=built.sources[p.name],
                tokens=p.tokens,
                truncated=p.truncated,
                lines_dropped=p.dropped,
            )
            for p in built.packing.parts
        ],
        omitted=list(built.packing.omitted),
        missing=list(built.missing),
    )


def structured_reserve(
    sections: list[Section], kept: int, missing: list[str], budget: int, ids: tuple[int | None, str | None]
) -> int:
    """Tokens of the largest structured content that keeps at most the first `kept` sections:
    each of them kept and cut, the rest omitted (an omitted part costs less than a kept one)."""
    parts = [
        ContextPart(
            name=s.part.name, source=s.source, tokens=budget, truncated=True, lines_dropped=len(s.part.lines)
        )
        for s in sections[:kept]
    ]
    worst = ContextResult(
        status=Status.TRUNCATED,
        alert_id=ids[0],
        app=ids[1],
        token_budget=budget,
        tokens_used=budget,
        parts=parts,
        omitted=[s.part.name for s in sections[kept:]],
        missing=missing,
    )
    return json_tokens(worst.model_dump(mode="json"))


def shaped(
    head: str,
    sections: list[Section],
    missing: list[str],
    failed: bool,
    budget: int,
    ids: tuple[int | None, str | None],
) -> tuple[ContextResult, str]:
    """The result and its text, both within `budget` tokens together: the parts are packed after
    room for the structured content of the fewest parts that the packing then does not exceed
    (with every part, always true, as a last resort)."""
    for kept in range(len(sections) + 1):
        built = build_context(
            head, sections, missing, failed, budget, structured_reserve(sections, kept, missing, budget, ids)
        )
        if len(built.packing.parts) <= kept:
            break
    # Counted with tokens_used at the budget, which has at least as many digits as the true count.
    counted = built.tokens + json_tokens(_result(built, budget, ids, budget).model_dump(mode="json"))
    return _result(built, budget, ids, counted), built.text


@guarded
async def investigation_context(
    ctx: Context,
    alert_id: Annotated[int | None, Field(ge=1, description="A stored alert's id (aiops://alerts).")] = None,
    app: Annotated[str | None, Field(description="Or an app name or alias: its newest alert.")] = None,
    token_budget: Annotated[
        int, Field(ge=500, le=32_000, description="Tokens the whole result may use.")
    ] = 4000,
) -> Annotated[CallToolResult, ContextResult]:
    """Start an investigation here: one alert's context within a token budget, most important first:
    the alert and its AI analysis, the app's profile, its alerts within 1 h, availability, 5xx ratio
    and p95 over 1 h/24 h/7 d, recent error logs, similar past incidents and their analyses, and the
    questions asked in earlier chats. Each part cites its resource URI or query. Give alert_id or app;
    token_budget covers the text and the structured content together."""
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
        plan = plan_for(alert, profile, name, rt.now().timestamp())
        got = await gather(_calls(rt, store, plan))
        sections, failed_queries = assemble(plan, got.values, LINKS, rt.settings.max_line_chars)
    failures = dict(got.failures) | failed_queries
    missing = missing_reasons(plan.absent | failures)
    head = f"alert {alert.id} {alert.alertname} ({name or 'no app'})" if alert else f"{name}, no alert"
    ids = (alert.id if alert else None, name)
    result, text = shaped(head, sections, missing, bool(failures), token_budget, ids)
    return tool_result(result, text)


def register(server: MCPServer) -> None:
    add_tools(server, investigation_context)
