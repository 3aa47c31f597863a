"""A question in plain language turned into a validated PromQL or LogQL query, and optionally run.

Grounding: the catalog holds the stored application profiles, the live metric names, the values of
the grounding labels (instances, envs, hosts, statuses, every label the profiles select by) and
each app's metric names per env, from the Prometheus asked (kept five minutes).

The rules (`aiops_mcp.translate`) read every question first: unknown names and time phrases get
a clarifying error, and health, impact, alert and event-count questions are answered by naming
their tool, model or not. Other questions go to a model when one is available, through MCP
sampling if the host offers it, else LiteLLM when ``AIOPS_MCP_LLM_MODEL`` is set; it is given the
rules' entities and window, and its answer is validated (parser, metric names, label values, the
app's labels, the range limit) and repaired once or rejected. The rules are the fallback and the
answer when no model is present. Either way, nothing but one validated read query ever runs, on
the datasource asked. Translations are cached for five minutes, keyed on the question (lower-cased
outside quotes: `|=` is case-sensitive), the datasource and the catalog's version; the rules'
also on the minute, since "today" is measured at the clock.
"""

import warnings
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, ClientCapabilities, SamplingCapability, SamplingMessage, TextContent
from pydantic import BaseModel, Field

from aiops_mcp.datasources.errors import DatasourceError
from aiops_mcp.datasources.prometheus import PrometheusClient
from aiops_mcp.llm import load_litellm
from aiops_mcp.query.logql import parse_logql
from aiops_mcp.query.promql import selector
from aiops_mcp.query.timerange import TimeRange
from aiops_mcp.runtime import Runtime, runtime
from aiops_mcp.tools.arguments import parse_window
from aiops_mcp.tools.contract import Provenance, Status, iso, tool_result
from aiops_mcp.tools.guard import guarded
from aiops_mcp.tools.logs import log_metric_query, log_query
from aiops_mcp.tools.metrics import range_query, shaped
from aiops_mcp.tools.registration import add_tools
from aiops_mcp.tools.shaping import LogResult, MetricResult, render_logs, render_metric
from aiops_mcp.translate import (
    AppRef,
    Catalog,
    Reading,
    Translation,
    TranslationError,
    UnknownMetricError,
    catalog_from_profiles,
    grounding_labels,
    read_question,
    translate,
)
from aiops_mcp.translate.catalog import SUGGESTIONS_SHOWN, app_from_profile, identity_labels
from aiops_mcp.translate.llm import accept, prompt, repair_message
from aiops_mcp.translate.text import fold_outside_quotes, normalise
from aiops_mcp.translate.timephrase import mentions_incident

CATALOG_KEY = "catalog"
TRANSLATION_KEY = "translation"
Role = Literal["user", "assistant"]
MAX_TOKENS = 600
MODEL_TIMEOUT_SECONDS = 30.0


class Alternative(BaseModel):
    query: str
    explanation: str
    language: str | None = Field(default=None, description="promql or logql.")


class TranslationResult(BaseModel):
    """The query, its language, the intent, an explanation, a confidence, and the run's result."""

    status: Status
    question: str
    intent: str
    language: str | None
    query: str | None
    kind: str
    time_range: str
    explanation: str
    confidence: float
    source: str = Field(description="rules, sampling or the LiteLLM model that translated.")
    answer_tool: str | None = Field(
        default=None,
        description="The tool that answers better than the query: app_health, incident_impact, "
        "app_events, or read_resource (the alerts resource at tool_arguments.uri).",
    )
    tool_arguments: dict[str, str] = Field(default_factory=dict, description="That call's exact arguments.")
    unapplied_filters: dict[str, str] = Field(
        default_factory=dict,
        description="Filters the question named that the answer tool cannot take: apply them to "
        "its result, or say they were not applied.",
    )
    alternatives: list[Alternative] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    metrics: MetricResult | None = None
    logs: LogResult | None = None


async def catalog_of(rt: Runtime, datasource: str | None) -> Catalog:
    """The translation catalog for `datasource`; five minutes in the translations cache."""
    key = (CATALOG_KEY, datasource)
    if key in rt.translations:
        return rt.translations[key]
    from aiops_mcp.store import StoreError

    try:
        profiles = await (await rt.store()).profiles.list_all()
    except StoreError as error:
        raise ToolError(f"the AIOps store is unavailable: {error}") from None
    rows = [
        {
            "name": p.name,
            "service_mappings": p.service_mappings,
            "aliases": p.aliases,
            "default_metrics": p.default_metrics,
            "architecture_info": p.architecture_info,
        }
        for p in profiles
    ]
    try:
        client: PrometheusClient | None = await rt.prometheus(datasource)
    except DatasourceError:
        client = None
    catalog = await grounded_catalog(client, rows)
    rt.translations[key] = catalog
    return catalog


async def grounded_catalog(
    client: PrometheusClient | None,
    profiles: Sequence[Mapping[str, Any]],
    *,
    start: float | None = None,
    end: float | None = None,
) -> Catalog:
    """The profiles with what `client`'s Prometheus holds: metric names, the grounding labels'
    values, and each app's metric names per env. When Prometheus does not answer, the profiles
    alone (names are then not checked; a run says what is wrong)."""
    if client is None:
        return catalog_from_profiles(profiles)
    values: dict[str, list[str]] = {}
    series: dict[str, dict[str, list[str]]] = {}

    async def label(name: str) -> None:
        values[name] = (await client.label_values(name, start=start, end=end)).items

    async def app_series(app: AppRef) -> None:
        identity = identity_labels(app.metric_labels)
        envs = [""]
        if "env" in app.metric_labels:
            envs = (await client.label_values("env", [selector(None, identity)], start, end)).items
        found = {}
        for env in envs:
            match = selector(None, {**identity, "env": env} if env else identity)
            found[env] = (await client.metric_names([match], start, end)).items
        series[app.name] = found

    try:
        names = (await client.metric_names(start=start, end=end)).items
        async with anyio.create_task_group() as group:
            for name in grounding_labels(profiles):
                group.start_soon(label, name)
            for app in (app_from_profile(p) for p in profiles):
                if app.metric_labels:
                    group.start_soon(app_series, app)
    except DatasourceError:
        return catalog_from_profiles(profiles)
    return catalog_from_profiles(profiles, metric_names=names, label_values=values, app_series=series)


async def by_model(
    ctx: Context, rt: Runtime, question: str, catalog: Catalog, reading: Reading, notes: list[str]
) -> tuple[Translation, str] | None:
    """The model's validated translation and its source (one repair round), or None when there
    is no model or its answers were rejected (said in `notes`)."""
    session = ctx.request_context.session
    can_sample = session.check_client_capability(ClientCapabilities(sampling=SamplingCapability()))
    model = rt.settings.llm_model
    if not can_sample and not model:
        return None
    source = "sampling" if can_sample else f"litellm:{model}"
    system, user = prompt(question, catalog, reading)
    messages: list[tuple[Role, str]] = [("user", user)]
    limit = rt.settings.max_query_range_hours * 3600
    for attempt in range(2):
        try:
            with anyio.fail_after(MODEL_TIMEOUT_SECONDS):
                reply = await (
                    _sample(session, system, messages)
                    if can_sample
                    else _litellm(model or "", system, messages)
                )
        except Exception as error:  # the model's failure must not fail the question: rules answer
            notes.append(f"{source} failed: {type(error).__name__}: {str(error)[:200]}")
            return None
        try:
            return accept(reply, question, catalog, source, reading, max_range_seconds=limit), source
        except TranslationError as error:
            notes.append(f"{source} answer rejected (attempt {attempt + 1}): {error.message}")
            messages += [("assistant", reply), ("user", repair_message(error))]
    return None


async def _sample(session: Any, system: str, messages: list[tuple[Role, str]]) -> str:
    request = [
        SamplingMessage(role=role, content=TextContent(type="text", text=text)) for role, text in messages
    ]
    with warnings.catch_warnings():  # sampling is deprecated from protocol 2026-07-28; hosts still offer it
        warnings.simplefilter("ignore")
        result = await session.create_message(
            request, max_tokens=MAX_TOKENS, system_prompt=system, temperature=0
        )
    content = result.content
    return content.text if isinstance(content, TextContent) else ""


async def _litellm(model: str, system: str, messages: list[tuple[Role, str]]) -> str:
    litellm = load_litellm()
    chat = [{"role": "system", "content": system}] + [{"role": r, "content": t} for r, t in messages]
    response = await litellm.acompletion(
        model=model, messages=chat, max_tokens=MAX_TOKENS, temperature=0, timeout=MODEL_TIMEOUT_SECONDS
    )
    return str(response.choices[0].message.content or "")


async def latest_alert_app(rt: Runtime) -> str | None:
    """The app of the newest stored alert that names one ("when the alert fired")."""
    from aiops_mcp.store import AlertFilter, StoreError

    try:
        alerts = (await (await rt.store()).alerts.recent(AlertFilter(), limit=20)).items
    except StoreError:
        return None
    return next((a.app for a in alerts if a.app), None)


async def incident_window(rt: Runtime, translation: Translation) -> TimeRange | None:
    """The latest alert's window of the translated app ("during the incident")."""
    from aiops_mcp.store import AlertFilter

    alerts = (
        await (await rt.store()).alerts.recent(AlertFilter(app=translation.entities.app), limit=1)
    ).items
    if not alerts:
        return None
    alert = alerts[0]
    end = alert.ends_at or rt.now()
    return parse_window(rt, "", alert.starts_at.isoformat(), end.isoformat())


async def execute(
    rt: Runtime, t: Translation, window: TimeRange, result: TranslationResult, datasource: str | None
) -> None:
    """Run the translated query with the usual bounds, PromQL on `datasource` (the Prometheus its
    names were checked on); the result goes into `result`."""
    assert t.query is not None
    start, end = iso(window.start_ts), iso(window.end_ts)
    if t.language == "logql" and parse_logql(t.query).kind == "log":
        result.logs = await log_query(rt, t.query, start=start, end=end)
    elif t.language == "logql":
        client = await rt.loki()
        if t.kind == "range":
            result.metrics = await log_metric_query(rt, t.query, start=start, end=end)
        else:
            data = await client.query(t.query, window.end_ts)
            provenance = Provenance(datasource=client.name, datasource_type="loki", query=t.query, time=end)
            result.metrics = shaped(rt, data, provenance, 1)
    elif t.kind == "range":
        result.metrics = await range_query(rt, t.query, start=start, end=end, datasource=datasource)
    else:
        prometheus = await rt.prometheus(datasource)
        data = await prometheus.query(t.query, window.end_ts)
        provenance = Provenance(
            datasource=prometheus.name, datasource_type="prometheus", query=t.query, time=end
        )
        result.metrics = shaped(rt, data, provenance, 1)
    inner = result.metrics or result.logs
    result.status = inner.status if inner is not None else Status.OK


def render(result: TranslationResult, budget: int) -> str:
    head = [
        f"{result.intent} [{result.source}, confidence {result.confidence:.2f}]: {result.explanation}",
        f"{result.language or 'no query'}: {result.query}"
        if result.query
        else "no query: see the explanation",
        f"{result.kind} over {result.time_range}",
    ]
    head += [f"or: {a.query} ({a.explanation})" for a in result.alternatives]
    head += [f"note: {n}" for n in result.notes]
    text = "\n".join(head)
    if result.metrics is not None:
        text += "\n" + render_metric(result.metrics, budget - len(text))
    elif result.logs is not None:
        text += "\n" + render_logs(result.logs, budget - len(text))
    return text


@guarded
async def translate_query(
    question: Annotated[
        str, Field(max_length=2000, description="The question, e.g. 'p95 latency of abc today'.")
    ],
    ctx: Context,
    run: Annotated[bool, Field(description="Also run the query (bounded result).")] = False,
    datasource: Annotated[
        str | None, Field(description="Prometheus datasource: names are checked and queries run there.")
    ] = None,
) -> Annotated[CallToolResult, TranslationResult]:
    """Turn a question into PromQL or LogQL grounded in the app profiles and the live metric names:
    the query, its language, the intent, an explanation, a confidence and alternatives; optionally
    run it. Unknown apps or metrics get the closest real names. Health, impact, alert and event
    questions name the tool that answers them (answer_tool, tool_arguments)."""
    rt = runtime(ctx)
    catalog = await catalog_of(rt, datasource)
    notes: list[str] = []
    translation, source = await translated(ctx, rt, question, catalog, datasource, notes)
    result = TranslationResult(
        status=Status.OK,
        question=question,
        intent=translation.intent,
        language=translation.language,
        query=translation.query,
        kind=translation.kind,
        time_range=translation.time_range,
        explanation=translation.explanation,
        confidence=translation.confidence,
        source=source,
        answer_tool=translation.answer_tool,
        tool_arguments=dict(translation.tool_arguments),
        unapplied_filters=dict(translation.unapplied_filters),
        alternatives=[
            Alternative(query=q, explanation=e, language=lang)
            for (q, e), lang in zip(translation.alternatives, _languages(translation), strict=True)
        ],
        notes=notes,
    )
    if run and translation.query:
        window = parse_window(rt, translation.time_range, None, None)
        if translation.time_reference == "last_incident":
            window = await incident_window(rt, translation) or window
        await execute(rt, translation, window, result, datasource)
    return tool_result(result, render(result, rt.settings.max_result_bytes))


async def translated(
    ctx: Context, rt: Runtime, question: str, catalog: Catalog, datasource: str | None, notes: list[str]
) -> tuple[Translation, str]:
    """The translation and its source, from the cache, the model or the rules (module docstring)."""
    asked = fold_outside_quotes(question)
    rules_key = (
        TRANSLATION_KEY,
        "rules",
        asked,
        datasource,
        catalog.version,
        rt.now().replace(second=0, microsecond=0),
    )
    model_key = (TRANSLATION_KEY, "model", asked, datasource, catalog.version)
    for key in (model_key, rules_key):
        if key in rt.translations:
            return rt.translations[key]
    incident = await latest_alert_app(rt) if mentions_incident(normalise(question)) else None
    rules: Translation | None = None
    try:
        rules = translate(question, catalog, now=rt.now(), incident_app=incident)
    except UnknownMetricError as error:
        unknown: TranslationError | None = error  # a model may still find the metric among the live names
    except TranslationError as error:
        raise ToolError(error_text(error)) from None
    else:
        unknown = None
    if rules is None or (rules.answer_tool is None and rules.intent in ("metrics", "logs", "general")):
        reading = read_question(question, catalog, now=rt.now(), incident_app=incident)
        named = reading.app or reading.entities.host or reading.entities.instance or reading.entities.metric
        # A general question that names nothing to query ("hello", "what is an SLO") is no query.
        if rules is None or rules.intent != "general" or named:
            answer = await by_model(ctx, rt, question, catalog, reading, notes)
            if answer is not None:
                rt.translations[model_key] = answer
                return answer
    if rules is None:
        assert unknown is not None
        raise ToolError(error_text(unknown))
    rt.translations[rules_key] = (rules, "rules")
    return rules, "rules"


def error_text(error: TranslationError) -> str:
    """A translation error for the tool's caller: the reason, then the closest names once."""
    if not error.suggestions:
        return error.message
    return f"{error.reason}. Closest: {', '.join(error.suggestions[:SUGGESTIONS_SHOWN])}."


def _languages(t: Translation) -> tuple[str, ...]:
    return t.alternative_languages or tuple(t.language or "promql" for _ in t.alternatives)


def register(server: MCPServer) -> None:
    add_tools(server, translate_query)
