"""translate(): a question in plain words to one validated PromQL or LogQL read query, by rules.

Steps: entities (app, host, instance, env, time, aggregation, quoted text, level), intent, template,
validation (PromQL with `validate_promql`, LogQL with `parse_logql`; with `catalog.metric_names`,
every metric the query reads must exist). Health, impact and alerts questions name the tool that
answers them instead of a query; general questions get neither.

Confidence: 0.9 when intent, app and template were all named explicitly (0.85 for a tool answer),
minus 0.2 when the intent was guessed from a bare word ("errors of abc"), 0.15 when a default was
picked among alternatives (latency without a percentile, app or host memory), 0.15 for an app
matched from a typo and 0.1 for one inferred (the only app, or an instance's); 0.2 for general.
"""

import re
from dataclasses import replace
from datetime import UTC, datetime

from aiops_mcp.query.errors import QueryInputError
from aiops_mcp.query.logql import parse_logql
from aiops_mcp.query.promql import validate_promql
from aiops_mcp.translate.catalog import SUGGESTIONS_SHOWN, closest_apps, closest_first
from aiops_mcp.translate.entities import Extraction, extract
from aiops_mcp.translate.everyapp import plan_every_app, reads_every_app
from aiops_mcp.translate.intent import detect_intent, grouping, metric_topic
from aiops_mcp.translate.llm import Reading
from aiops_mcp.translate.logplans import plan_counts, plan_logs
from aiops_mcp.translate.model import (
    DEFAULT_TIME_RANGE,
    AppRef,
    Catalog,
    Entities,
    Intent,
    Kind,
    Language,
    Translation,
    TranslationError,
)
from aiops_mcp.translate.plans import plan_metric, plan_metrics
from aiops_mcp.translate.routes import route
from aiops_mcp.translate.scope import Choice, Plan, Scope
from aiops_mcp.translate.text import MAX_QUESTION_LENGTH
from aiops_mcp.translate.timephrase import count_window
from aiops_mcp.translate.topics import check_metric, raise_unknown_topic, unknown_topic

GENERAL = (
    "Not a question the templates cover: ask about an application's request rate, error rate, latency, "
    "availability, CPU, memory, restarts, logs or log counts, its health, alerts or an incident's impact."
)


def translate(
    question: str, catalog: Catalog, *, now: datetime | None = None, incident_app: str | None = None
) -> Translation:
    """Translate `question` against `catalog`, deterministically; `now` (default: the clock)
    resolves calendar words and measures count windows of ranges ending now ("today").
    `incident_app` is the app of the latest alert: the app of "when the alert fired" when the
    question names none. Raises TranslationError when the question names something unknown or
    needs an app it does not name (with the closest real names as suggestions)."""
    if not question.strip():
        raise TranslationError(
            "the question is empty: ask e.g. 'p95 latency of abc-app over the last 24 hours'"
        )
    if len(question) > MAX_QUESTION_LENGTH:
        raise TranslationError(
            f"the question is {len(question)} characters long; at most {MAX_QUESTION_LENGTH}"
        )
    moment = now or datetime.now(UTC)
    ex = extract(question, catalog, now=moment)
    intent, explicit = detect_intent(ex.rest, has_text=ex.entities.text is not None)
    if ex.entities.metric is not None and intent in ("metrics", "general"):
        intent, explicit = "metrics", True
        check_metric(ex.entities.metric, catalog)
    elif (intent == "metrics" or (intent == "general" and not explicit)) and (
        topic := unknown_topic(ex.rest, catalog)
    ):
        raise_unknown_topic(topic, catalog)
    time_range = ex.time.time_range or DEFAULT_TIME_RANGE
    if intent == "general":
        return _answer(question, ex, intent, time_range, GENERAL, 0.2)
    app, app_match = _default_app(ex, catalog, incident_app)
    if intent in ("health", "impact", "alerts"):
        return _routed(question, ex, catalog, intent, explicit, time_range, app, app_match)

    def scope_of(chosen: AppRef | None, any_env: bool = False) -> Scope:
        return Scope(
            ex=ex,
            catalog=catalog,
            need_app=lambda: chosen or _require_app(ex, catalog),
            env=None if grouping(ex.rest, ex.envs) == "env" else (ex.envs[0] if ex.envs else None),
            window=lambda: count_window(ex.time, time_range, moment),
            range_kind=_metric_kind(ex),
            explicit=explicit,
            over_window=_over_window(ex),
            app=chosen,
            any_env=any_env,
        )

    try:
        if app is None and ex.entities.metric is None and reads_every_app(ex, catalog):
            any_env = not ex.envs
            plan, app = plan_every_app(catalog.apps, lambda a: _plan(intent, scope_of(a, any_env)))
            app_match = "every" if app is not None else "all"
        else:
            plan = _plan(intent, scope_of(app))
        _validate(plan.choice.query, plan.language, catalog)
        env = scope_of(app).env
        if plan.host is None and app is not None:
            _check_app_has(plan.choice, plan.language, app, env)
    except TranslationError:
        raise
    except QueryInputError as exc:
        raise TranslationError(str(exc)) from exc
    valid = [c for c in plan.alternatives if _valid(c, c.language or plan.language, catalog, app, env)]
    uses_app = plan.host is None or ex.entities.host is None
    entities = replace(
        ex.entities,
        app=app.name if uses_app and app else ex.entities.app,
        host=plan.host or ex.entities.host,
        env=None if grouping(ex.rest, ex.envs) == "env" else (ex.envs[0] if ex.envs else None),
        aggregation=ex.entities.aggregation if plan.language == "promql" else None,
        level=ex.entities.level if plan.language == "logql" else None,
    )
    confidence = _confidence(0.9, explicit, plan.ambiguous, app_match if uses_app else "named")
    one_app = app is not None and app_match != "every"
    counted = route(intent, ex, app, time_range) if intent == "event_count" and one_app else None
    explanation = plan.choice.explanation
    if intent == "logs" and (unused := unused_log_words(ex.rest)):
        # Never a silently different answer: say what the log query does not filter on.
        confidence = min(confidence, 0.4)
        explanation += (
            f" Not applied: {' '.join(unused)!r}; put the text to find in quotes to filter lines on it."
        )
    if counted:
        explanation += f" Also {counted.explanation[0].lower()}{counted.explanation[1:]}"
    return Translation(
        question=question,
        intent=intent,
        language=plan.language,
        query=plan.choice.query,
        kind=plan.kind,
        time_range=time_range,
        time_reference=ex.time.reference,
        explanation=explanation,
        confidence=confidence,
        template=plan.choice.template,
        alternatives=tuple((c.query, c.explanation) for c in valid),
        entities=entities,
        alternative_languages=tuple(c.language or plan.language for c in valid),
        answer_tool=counted.tool if counted else None,
        tool_arguments=counted.arguments if counted else {},
        unapplied_filters=counted.unapplied if counted else {},
    )


def read_question(
    question: str, catalog: Catalog, *, now: datetime | None = None, incident_app: str | None = None
) -> Reading:
    """What the rules read in `question` (entities, the app, the window) for a model to keep to;
    TranslationError as `translate` raises it for unknown names and unreadable time phrases."""
    ex = extract(question, catalog, now=now or datetime.now(UTC))
    app, _ = _default_app(ex, catalog, incident_app)
    if ex.unknown_app:
        _require_app(ex, catalog)
    entities = replace(
        ex.entities, app=app.name if app else None, env=ex.envs[0] if len(ex.envs) == 1 else None
    )
    return Reading(entities, app, ex.time.time_range or DEFAULT_TIME_RANGE, ex.time.reference)


def _plan(intent: Intent, scope: Scope) -> Plan:
    if intent == "event_count":
        return plan_counts(scope)
    if intent == "logs":
        return plan_logs(scope)
    if scope.ex.entities.metric is not None:
        return plan_metric(scope)
    topic = metric_topic(scope.ex.rest)
    assert topic is not None  # the metrics intent is detected from a topic
    return plan_metrics(scope, topic)


def _over_window(ex: Extraction) -> bool:
    """One value over the asked window ("p95 latency of abc yesterday": an instant query whose
    rates span the window) unless a trend is asked ("graph", "show", "over time")."""
    return ex.time.time_range is not None and not ex.time.trend and ex.time.reference is None


def _metric_kind(ex: Extraction) -> Kind:
    """Range over the window for a time phrase, a trend or the incident; instant for now."""
    if ex.time.now and not ex.time.trend:
        return "instant"
    return "range" if (ex.time.time_range or ex.time.trend or ex.time.reference) else "instant"


# --- apps and tools ---------------------------------------------------------------------------


def _default_app(ex: Extraction, catalog: Catalog, incident_app: str | None) -> tuple[AppRef | None, str]:
    """The app the question names, else the only one, else the latest alert's for incident
    phrasing ("when the alert fired"), else the only one with series in the env named; with how
    it was found, (None, "none") otherwise."""
    if ex.app is not None:
        return ex.app, ex.app_match
    if ex.unknown_app:
        return None, "none"
    if len(catalog.apps) == 1:
        return catalog.apps[0], "single"
    if ex.time.reference is not None and incident_app is not None:
        app = next((a for a in catalog.apps if incident_app in (a.name, *a.aliases)), None)
        if app is not None:
            return app, "incident"
    in_env = [a for a in catalog.apps if ex.envs and ex.envs[0] in a.series]
    if len(in_env) == 1 and len(ex.envs) == 1:
        return in_env[0], "env"  # "the staging request rate": the only app with staging series
    return None, "none"


def _require_app(ex: Extraction, catalog: Catalog) -> AppRef:
    """TranslationError for a question that needs an app and names none, or an unknown one."""
    names = [a.name for a in catalog.apps]
    if ex.unknown_app:
        ranked = closest_apps(ex.unknown_app, catalog.apps)[:SUGGESTIONS_SHOWN]
        reason = f"no application {ex.unknown_app!r}"
        raise TranslationError.listing(reason, "known applications (closest first)", ranked)
    if not catalog.apps:
        raise TranslationError("no application profiles are known: add one first")
    reason = "which application? Name one of the known applications"
    raise TranslationError(f"which application? Name one of: {', '.join(names)}", names, reason=reason)


def _routed(
    question: str,
    ex: Extraction,
    catalog: Catalog,
    intent: Intent,
    explicit: bool,
    time_range: str,
    app: AppRef | None,
    app_match: str,
) -> Translation:
    """Health, impact and alerts: the tool call (or resource) that answers the question."""
    if app is None and (intent == "health" or ex.unknown_app):
        _require_app(ex, catalog)
    if app is not None and intent != "health" and app_match in ("single", "incident"):
        app, app_match = None, "named"  # impact and alerts need no app: do not narrow them
    answer = route(intent, ex, app, time_range)
    entities = replace(ex.entities, app=app.name if app else None, env=ex.envs[0] if ex.envs else None)
    confidence = _confidence(0.85, explicit, False, app_match if app else "named")
    translation = _answer(question, ex, intent, time_range, answer.explanation, confidence, entities)
    return replace(
        translation,
        answer_tool=answer.tool,
        tool_arguments=answer.arguments,
        unapplied_filters=answer.unapplied,
    )


def _answer(
    question: str,
    ex: Extraction,
    intent: Intent,
    time_range: str,
    explanation: str,
    confidence: float,
    entities: Entities | None = None,
) -> Translation:
    return Translation(
        question=question,
        intent=intent,
        language=None,
        query=None,
        kind="instant",
        time_range=time_range,
        time_reference=ex.time.reference,
        explanation=explanation,
        confidence=confidence,
        template=None,
        alternatives=(),
        entities=entities or ex.entities,
    )


_LOG_WORDS = frozenset(
    re.findall(
        r"\S+",
        """
        a all an and any are at by containing contains entries entry error errors fatal find for
        from get give in info is last latest level line lines list log logged logs me message
        messages of on recent show some the there were what which with warn warning warnings debug
        critical
        """,
    )
)
"""Words the log templates read (or that carry nothing), beside the entities already blanked."""
_WORD_RE = re.compile(r"[a-z0-9_%.:/-]+")


def unused_log_words(rest: str) -> list[str]:
    """The words of a log question the log templates read nothing from ("5xx status", "gateway
    slow"): entities, times and quoted text are already blanked out of `rest`."""
    return [w for w in _WORD_RE.findall(rest) if w.strip(".,:-/") and w.strip(".,:-/") not in _LOG_WORDS]


def _confidence(base: float, explicit: bool, ambiguous: bool, app_match: str) -> float:
    score = base - (0.0 if explicit else 0.2) - (0.15 if ambiguous else 0.0)
    score -= {"fuzzy": 0.15, "instance": 0.1, "single": 0.1, "incident": 0.1, "every": 0.2, "all": 0.1}.get(
        app_match, 0.0
    )
    return round(max(0.1, min(1.0, score)), 2)


# --- validation -------------------------------------------------------------------------------


def _validate(query: str, language: Language, catalog: Catalog) -> None:
    """Parse the query; with known metric names, refuse one that reads a metric that does not exist."""
    if language == "logql":
        parse_logql(query)
        return
    info = validate_promql(query)
    if catalog.metric_names is None:
        return
    for name in info.metric_names:
        if name not in catalog.metric_names:
            close = closest_first(name, sorted(catalog.metric_names))[:SUGGESTIONS_SHOWN]
            raise TranslationError.listing(f"metric {name!r} does not exist in Prometheus", "closest", close)


def _check_app_has(choice: Choice, language: Language, app: AppRef, env: str | None) -> None:
    """Refuse a PromQL query reading a metric the app has no series of in the env it reads (the
    env asked, else the profile's): an empty answer would look like a quiet window."""
    if language != "promql" or not app.series:
        return
    where = env or app.metric_labels.get("env", "")
    if env:
        has = app.series.get(env, frozenset())
    else:
        has = app.series.get(where) or frozenset().union(*app.series.values())
    for name in validate_promql(choice.query).metric_names:
        if name not in has and not name.startswith("node_"):  # host metrics are the host's
            shown = f" in {where}" if where else ""
            known = sorted(has)[:SUGGESTIONS_SHOWN]
            raise TranslationError.listing(
                f"{app.name} has no {name} series{shown}", f"its metrics{shown}", known
            )


def _valid(choice: Choice, language: Language, catalog: Catalog, app: AppRef | None, env: str | None) -> bool:
    try:
        _validate(choice.query, language, catalog)
        if app is not None:
            _check_app_has(choice, language, app, env)
    except QueryInputError:
        return False
    return True
