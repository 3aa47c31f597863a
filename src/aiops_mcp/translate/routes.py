"""The answer tool for questions a raw query answers badly: health, impact, alerts and event counts.

Each route is the call's name, its exact arguments, the filters the question named that the call
cannot take, and an explanation naming the call (`call app_health(app='abc-app', ...)`,
`read aiops://alerts?...`) for clients that read text.
"""

import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from aiops_mcp.translate.entities import Extraction
from aiops_mcp.translate.intent import asks_firing
from aiops_mcp.translate.model import AppRef, Intent

ALERTS_URI = "aiops://alerts"
_SEVERITY_RE = re.compile(r"\b(?P<s>critical|warning|warn|info)\b")
_RESOLVED_RE = re.compile(r"\b(?:resolved|closed|cleared)\b")


@dataclass(frozen=True)
class Route:
    """One answer tool call (see `Translation.answer_tool`)."""

    tool: str
    arguments: dict[str, str]
    unapplied: dict[str, str] = field(default_factory=dict)
    explanation: str = ""


def route(intent: Intent, ex: Extraction, app: AppRef | None, time_range: str) -> Route:
    """The call that answers a health, impact, alerts or event-count question."""
    if intent == "health" and ex.time.reference is None:
        assert app is not None
        return _call("app_health", {"app": app.name, "time_range": time_range}, _scope(ex), "")
    if intent in ("health", "impact"):
        return _impact(ex, app, time_range)
    if intent == "alerts":
        return _alerts(ex, app, time_range)
    assert app is not None
    arguments = {"app": app.name, "time_range": time_range}
    if ex.entities.text is not None:
        arguments["text"] = ex.entities.text
    return _call("app_events", arguments, _scope(ex), "")


def _impact(ex: Extraction, app: AppRef | None, time_range: str) -> Route:
    arguments = {"app": app.name} if app else {}
    if ex.entities.host:
        arguments["host"] = ex.entities.host
    given = ex.time.time_range is not None and ex.time.reference is None
    if given:
        arguments["time_range"] = time_range
    unapplied = {k: v for k, v in _scope(ex).items() if k != "host"}
    return _call("incident_impact", arguments, unapplied, "" if given else " (the latest alert's window)")


def _alerts(ex: Extraction, app: AppRef | None, time_range: str) -> Route:
    """The alerts resource with the filters it takes (app, severity, status, instance, time range);
    a host or env is the client's to apply."""
    query: dict[str, str] = {}
    if app is not None:
        query["app"] = app.name
    if severity := _SEVERITY_RE.search(ex.rest):
        query["severity"] = "warning" if severity["s"] == "warn" else severity["s"]
    if _RESOLVED_RE.search(ex.rest):
        query["status"] = "resolved"
    elif asks_firing(ex.rest) and not ex.time.time_range:
        query["status"] = "firing"
    if ex.entities.instance:
        query["instance"] = ex.entities.instance
    if ex.time.time_range is not None:
        query["time_range"] = time_range
    uri = f"{ALERTS_URI}?{urlencode(query, quote_via=quote)}" if query else ALERTS_URI
    unapplied = {k: v for k, v in _scope(ex).items() if k != "instance"}
    applied = " with " + ", ".join(f"{k} {v}" for k, v in query.items()) if query else ""
    explanation = f"Answered by a resource: read {uri} (recent alerts{applied}, newest first)."
    return Route("read_resource", {"uri": uri}, unapplied, explanation + _unapplied_text(unapplied, True))


def _scope(ex: Extraction) -> dict[str, str]:
    """The host, instance and env the question named."""
    env = ex.envs[0] if ex.envs else None
    named = {"host": ex.entities.host, "instance": ex.entities.instance, "env": env}
    return {k: v for k, v in named.items() if v}


def _call(tool: str, arguments: dict[str, str], unapplied: dict[str, str], note: str) -> Route:
    shown = ", ".join(f"{k}='{v}'" for k, v in arguments.items())
    explanation = f"Answered by a tool: call {tool}({shown}){note}." + _unapplied_text(unapplied, False)
    return Route(tool, arguments, unapplied, explanation)


def _unapplied_text(unapplied: dict[str, str], resource: bool) -> str:
    if not unapplied:
        return ""
    named = ", ".join(f"{k} {v}" for k, v in unapplied.items())
    if resource:
        return f" It has no filter for {named}: keep only the alerts that match."
    return f" It takes no {named}: that filter is not applied."
