"""A question in plain language turned into a validated PromQL or LogQL query, and optionally run.

Grounding: the catalog holds the stored application profiles, the live metric names and the
``instance``/``env`` label values (kept five minutes). A model translates when one is available,
through MCP sampling if the host offers it, else through LiteLLM when ``AIOPS_MCP_LLM_MODEL`` is
set; its answer is validated (parser, known metric names) and repaired once or rejected. The
rule-based translator (`aiops_mcp.translate`) is the fallback and the answer when no model is
present. Either way, nothing but one validated read query ever runs. Model translations and the
catalog are cached for five minutes.
"""

import warnings
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, ClientCapabilities, SamplingCapability, SamplingMessage, TextContent
from pydantic import BaseModel, Field

from aiops_mcp.datasources.errors import DatasourceError
from aiops_mcp.llm import load_litellm
from aiops_mcp.query.timerange import TimeRange
from aiops_mcp.runtime import Runtime, runtime
from aiops_mcp.tools.arguments import parse_window
from aiops_mcp.tools.contract import Provenance, Status, iso, tool_result
from aiops_mcp.tools.guard import guarded
from aiops_mcp.tools.logs import log_query
from aiops_mcp.tools.metrics import range_query, shaped
from aiops_mcp.tools.registration import add_tools
from aiops_mcp.tools.shaping import LogResult, MetricResult, render_logs, render_metric
from aiops_mcp.translate import Catalog, Translation, TranslationError, catalog_from_profiles, translate
from aiops_mcp.translate.llm import accept, prompt, repair_message

CATALOG_KEY = "catalog"
Role = Literal["user", "assistant"]
MAX_TOKENS = 600
MODEL_TIMEOUT_SECONDS = 30.0


class Alternative(BaseModel):
    query: str
    explanation: str


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
    """Profiles, live metric names and instance/env values; five minutes in the translations cache."""
    key = (CATALOG_KEY, datasource)
    if key in rt.translations:
        return rt.translations[key]
    from aiops_mcp.store import StoreError

    try:
        profiles = await (await rt.store()).profiles.list_all()
    except StoreError as error:
        raise ToolError(f"the AIOps store is unavailable: {error}") from None
    names: list[str] | None = None
    values: dict[str, list[str]] = {}
    try:
        client = await rt.prometheus(datasource)
        names = (await client.metric_names()).items
        for label in ("instance", "env"):
            values[label] = (await client.label_values(label)).items
    except DatasourceError:
        names = None  # unknown names are not checked; the run will say what is wrong
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
    catalog = catalog_from_profiles(rows, metric_names=names, label_values=values)
    rt.translations[key] = catalog
    return catalog


async def by_model(
    ctx: Context, rt: Runtime, question: str, catalog: Catalog, notes: list[str]
) -> tuple[Translation, str] | None:
    """The model's validated translation and its source (one repair round), or None when there
    is no model or its answers were rejected (said in `notes`)."""
    session = ctx.request_context.session
    can_sample = session.check_client_capability(ClientCapabilities(sampling=SamplingCapability()))
    model = rt.settings.llm_model
    if not can_sample and not model:
        return None
    source = "sampling" if can_sample else f"litellm:{model}"
    system, user = prompt(question, catalog)
    messages: list[tuple[Role, str]] = [("user", user)]
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
            return accept(reply, question, catalog, source), source
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


async def execute(rt: Runtime, t: Translation, window: TimeRange, result: TranslationResult) -> None:
    """Run the translated query with the usual bounds; the result goes into `result`."""
    assert t.query is not None
    start, end = iso(window.start_ts), iso(window.end_ts)
    if t.language == "logql" and t.kind == "range" and "count_over_time" not in t.query:
        result.logs = await log_query(rt, t.query, start=start, end=end)
    elif t.language == "logql":
        client = await rt.loki()
        data = await client.query(t.query, window.end_ts)
        provenance = Provenance(datasource=client.name, datasource_type="loki", query=t.query, time=end)
        result.metrics = shaped(rt, data, provenance, 1)
    elif t.kind == "range":
        result.metrics = await range_query(rt, t.query, start=start, end=end)
    else:
        prometheus = await rt.prometheus()
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
    datasource: Annotated[str | None, Field(description="Prometheus datasource for names.")] = None,
) -> Annotated[CallToolResult, TranslationResult]:
    """Turn a question into PromQL or LogQL grounded in the app profiles and the live metric names:
    the query, its language, the intent, an explanation, a confidence and alternatives; optionally
    run it. Unknown apps or metrics get the closest real names. Health, impact and alert questions
    name the tool that answers them."""
    rt = runtime(ctx)
    catalog = await catalog_of(rt, datasource)
    key = (" ".join(question.casefold().split()), datasource, id(catalog))
    notes: list[str] = []
    # Model answers are cached (a call costs seconds and money); the rules take a millisecond and
    # resolve "today" against the clock, so they run every time.
    cached: tuple[Translation, str] | None = rt.translations.get(key)
    if cached is None:
        cached = await by_model(ctx, rt, question, catalog, notes)
        if cached is not None:
            rt.translations[key] = cached
    if cached is None:
        try:
            cached = translate(question, catalog, now=rt.now()), "rules"
        except TranslationError as error:
            closest = f" Closest: {', '.join(error.suggestions[:10])}." if error.suggestions else ""
            raise ToolError(f"{error.message}.{closest}") from None
    translation, source = cached
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
        alternatives=[Alternative(query=q, explanation=e) for q, e in translation.alternatives],
        notes=notes,
    )
    if run and translation.query:
        window = parse_window(rt, translation.time_range, None, None)
        if translation.time_reference == "last_incident":
            window = await incident_window(rt, translation) or window
        await execute(rt, translation, window, result)
    return tool_result(result, render(result, rt.settings.max_result_bytes))


def register(server: MCPServer) -> None:
    add_tools(server, translate_query)
