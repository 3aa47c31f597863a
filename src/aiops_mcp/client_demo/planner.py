"""The offline planner: answers a question without a model, with the server's own tools.

Used when no model is configured (or the model failed). `plan_turn(host, question)` yields a
`ToolStarted`/`ToolFinished` pair for every call (resource reads appear as calls named
``read_resource`` with ``{"uri": ...}``), then one `Answer(mode="offline")` written from the
tools' structured results (`aiops_mcp.client_demo.answers`), never from their text.

Routing: ``translate_query(question)`` first. It is grounded server-side (profiles, live metric
names) and names, as structure, the call that answers the question (``answer_tool`` with its exact
``tool_arguments``); the planner makes that call:

- app_events (event counts), app_health (health), incident_impact (impact): the tool, as named;
- read_resource: the alerts resource at ``tool_arguments["uri"]``;
- no answer tool, intent metrics or logs: ``translate_query(question, run=True)``; the answer is its
  series or log lines;
- anything else (a general question, a translation error such as an unknown app): what can be
  asked, and the known apps from ``aiops://apps``, the closest to a misspelt name first (the
  error's suggestions).

Filters the question named that the answer tool cannot take (``unapplied_filters``) are said in
the answer, never dropped silently.

A tool error ends the turn with its ``ToolFinished(is_error=True)`` and an answer saying what failed;
only a lost connection (`HostDisconnected`) raises. With the demo backends, logs come from the Loki
double built from responses recorded from a real Loki (Grafana Loki cannot run here).
"""

import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from aiops_mcp.client_demo import answers
from aiops_mcp.client_demo.events import Answer, Event, ToolFinished, ToolStarted
from aiops_mcp.client_demo.host import HostDisconnected
from aiops_mcp.tools.events import EventsResult
from aiops_mcp.tools.health import HealthResult
from aiops_mcp.tools.impact import ImpactResult
from aiops_mcp.tools.translate import TranslationResult

MODE = "offline"
READ_RESOURCE = "read_resource"
APPS_URI = "aiops://apps"
ALERTS_URI = "aiops://alerts"
MAX_APP_PAGES = 20
_ERROR_PREFIX_RE = re.compile(r"^Error executing tool \w+: ")
_CLOSEST_RE = re.compile(r"Closest: (.+?)\.?$")
M = TypeVar("M", bound=BaseModel)


class PlannerHost(Protocol):
    """What the planner needs of a host (`McpHost` is one)."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], *, call_id: str | None = None
    ) -> ToolFinished: ...

    async def read_resource(self, uri: str) -> str: ...


class _Turn:
    """One turn's calls: each yields its started and finished events; `last` is the latest outcome."""

    def __init__(self, host: PlannerHost) -> None:
        self.host = host
        self.done: list[ToolFinished] = []
        self.known_apps: list[dict[str, Any]] = []

    @property
    def last(self) -> ToolFinished:
        return self.done[-1]

    async def call(self, name: str, arguments: dict[str, Any]) -> AsyncIterator[Event]:
        call_id = f"call_{uuid.uuid4().hex[:12]}"
        yield ToolStarted(call_id, name, arguments)
        self.done.append(await self.host.call_tool(name, arguments, call_id=call_id))
        yield self.last

    async def read(self, uri: str) -> AsyncIterator[Event]:
        """Read a resource; its JSON is the structured result, a failure is an error result."""
        call_id, arguments = f"call_{uuid.uuid4().hex[:12]}", {"uri": uri}
        yield ToolStarted(call_id, READ_RESOURCE, arguments)
        started = time.monotonic()
        try:
            text = await self.host.read_resource(uri)
        except HostDisconnected:
            raise
        except Exception as exc:  # a resource error (unknown URI, store down) is the answer's to tell
            text, failed = f"reading {uri} failed: {str(exc).strip() or type(exc).__name__}", True
        else:
            failed = False
        seconds = round(time.monotonic() - started, 3)
        structured = None if failed else _json(text)
        self.done.append(ToolFinished(call_id, READ_RESOURCE, arguments, failed, text, structured, seconds))
        yield self.last

    async def apps(self) -> AsyncIterator[Event]:
        """Read every page of aiops://apps into `known_apps` (a failed read ends the listing)."""
        found: list[dict[str, Any]] = []
        uri: str | None = APPS_URI
        for _ in range(MAX_APP_PAGES):
            if uri is None:
                break
            async for event in self.read(uri):
                yield event
            page = self.last.structured or {}
            found += [a for a in page.get("apps") or [] if isinstance(a, dict) and a.get("name")]
            uri = page.get("next") if not self.last.is_error else None
        self.known_apps = found


Route = Callable[[_Turn, str, TranslationResult | None], AsyncIterator[Event]]


async def plan_turn(host: PlannerHost, question: str) -> AsyncIterator[Event]:
    """Answer `question` with the server's tools, without a model (see the module docstring)."""
    turn = _Turn(host)
    async for event in turn.call("translate_query", {"question": question}):
        yield event
    translation = _model(TranslationResult, turn.last)
    if translation is None:
        route: Route = _help
    elif translation.answer_tool:
        route = _ROUTES.get(translation.answer_tool, _help)
    else:
        route = _ROUTES.get(translation.intent, _help)
    async for event in route(turn, question, translation):
        if isinstance(event, Answer) and translation is not None and translation.unapplied_filters:
            event = _with_unapplied(event, translation.unapplied_filters)
        yield event


# --- routes -----------------------------------------------------------------------------------


async def _app_events(turn: _Turn, question: str, t: TranslationResult | None) -> AsyncIterator[Event]:
    assert t is not None
    arguments = dict(t.tool_arguments)
    async for event in turn.call("app_events", arguments):
        yield event
    template = partial(answers.events, time_range=arguments.get("time_range", t.time_range))
    yield _answer_from(turn.last, EventsResult, template, f"count the events of {arguments.get('app')}")


async def _app_health(turn: _Turn, question: str, t: TranslationResult | None) -> AsyncIterator[Event]:
    assert t is not None
    arguments = dict(t.tool_arguments)
    async for event in turn.call("app_health", arguments):
        yield event
    template = partial(answers.health, time_range=arguments.get("time_range", "last 1h"))
    yield _answer_from(turn.last, HealthResult, template, f"judge the health of {arguments.get('app')}")


async def _incident_impact(turn: _Turn, question: str, t: TranslationResult | None) -> AsyncIterator[Event]:
    assert t is not None
    async for event in turn.call("incident_impact", dict(t.tool_arguments)):
        yield event
    yield _answer_from(turn.last, ImpactResult, answers.impact, "measure the impact")


async def _alerts(turn: _Turn, question: str, t: TranslationResult | None) -> AsyncIterator[Event]:
    assert t is not None
    uri = t.tool_arguments.get("uri") or ALERTS_URI
    async for event in turn.read(uri):
        yield event
    result = turn.last
    if result.is_error or result.structured is None:
        yield _failure(result, "list the alerts")
    else:
        yield Answer(answers.alerts(result.structured, uri), [], MODE)


async def _run_query(turn: _Turn, question: str, t: TranslationResult | None) -> AsyncIterator[Event]:
    """Metrics and logs: translate again and run the query (bounded), answer from its result."""
    async for event in turn.call("translate_query", {"question": question, "run": True}):
        yield event
    ran = _model(TranslationResult, turn.last)
    queries = [ran.query] if ran is not None and ran.query else []
    yield _answer_from(turn.last, TranslationResult, answers.translated, "run the query", queries)


async def _help(turn: _Turn, question: str, t: TranslationResult | None) -> AsyncIterator[Event]:
    """General questions and translation errors: what failed, what can be asked, the known apps."""
    first = turn.done[0]
    async for event in turn.apps():
        yield event
    known = turn.known_apps
    parts = []
    if first.is_error:
        reason = _reason(first)
        closest = _CLOSEST_RE.search(reason)
        ranked = [n.strip() for n in closest[1].split(",")] if closest else []
        known = sorted(known, key=lambda a: ranked.index(a["name"]) if a["name"] in ranked else len(ranked))
        parts.append(f"I could not answer that: {_CLOSEST_RE.sub('', reason).strip()}")
    elif t is not None:
        parts.append(f"I cannot answer that offline. {t.explanation}")
    if turn.last.is_error:
        parts.append(f"The list of applications is unavailable: {_reason(turn.last)}")
    parts.append(answers.capabilities(known))
    yield Answer("\n".join(parts), [], MODE)


_ROUTES: dict[str, Route] = {
    "app_events": _app_events,
    "app_health": _app_health,
    "incident_impact": _incident_impact,
    READ_RESOURCE: _alerts,
    "metrics": _run_query,
    "logs": _run_query,
}


# --- results ----------------------------------------------------------------------------------


def _model(model: type[M], result: ToolFinished) -> M | None:
    """The structured result as `model`, None for an error or a result of another shape."""
    if result.is_error or result.structured is None:
        return None
    try:
        return model.model_validate(result.structured)
    except ValidationError:
        return None


def _answer_from(
    result: ToolFinished,
    model: type[M],
    template: Callable[[M], str],
    goal: str,
    queries: list[str] | None = None,
) -> Answer:
    """The templated answer from a tool's structured result, or what failed."""
    parsed = _model(model, result)
    if parsed is None:
        return _failure(result, goal)
    return Answer(template(parsed), queries if queries is not None else result.queries, MODE)


def _failure(result: ToolFinished, goal: str) -> Answer:
    if result.is_error:
        text = f"I could not {goal}: {result.name} failed: {_reason(result)}"
    else:
        text = f"I could not {goal}: {result.name} returned a result I cannot read. Its text:\n{result.text}"
    return Answer(text, [], MODE)


def _with_unapplied(answer: Answer, filters: dict[str, str]) -> Answer:
    named = ", ".join(f"{name} {value}" for name, value in filters.items())
    text = f"{answer.text}\nNot applied (the tool takes no such filter): {named}."
    return Answer(text, answer.queries, answer.mode)


def _reason(result: ToolFinished) -> str:
    return _ERROR_PREFIX_RE.sub("", result.text.strip())


def _json(text: str) -> dict[str, Any] | None:
    try:
        document = json.loads(text)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


__all__ = ["MODE", "PlannerHost", "plan_turn"]
