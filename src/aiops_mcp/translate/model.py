"""What the translator reads (the catalog of apps and names) and what it returns (a Translation)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from aiops_mcp.query.errors import QueryInputError

Intent = Literal["metrics", "logs", "event_count", "health", "impact", "alerts", "general"]
Language = Literal["promql", "logql"]
Kind = Literal["instant", "range"]

DEFAULT_TIME_RANGE = "last 1h"


@dataclass(frozen=True)
class AppRef:
    """One application profile, as the translator needs it; `series` maps each env the app has
    series in ("" when its mapping names no env) to the metric names it has there (empty: unknown)."""

    name: str
    metric_labels: dict[str, str]
    log_labels: dict[str, str]
    aliases: tuple[str, ...] = ()
    default_metrics: tuple[str, ...] = ()
    host: str | None = None
    series: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Catalog:
    """What exists, grounding the translation: apps, live metric names (None: unknown) and label
    values (e.g. {"env": {...}, "instance": {...}}); `version` changes whenever any of it does."""

    apps: tuple[AppRef, ...]
    metric_names: frozenset[str] | None = None
    label_values: Mapping[str, frozenset[str]] = field(default_factory=dict)
    version: str = ""


@dataclass(frozen=True)
class Entities:
    """What the question names, resolved against the catalog: `app` is the app's name, `instance`
    the full label value ("abc-2:8080"), `host` the host the query reads (named, or the app's for
    host templates), `aggregation` p50/p75/p90/p95/p99/avg/max/rate, `level` error or warn,
    `metric` a metric name written in the question."""

    app: str | None = None
    host: str | None = None
    instance: str | None = None
    env: str | None = None
    aggregation: str | None = None
    text: str | None = None
    level: str | None = None
    metric: str | None = None


@dataclass(frozen=True)
class Translation:
    """A question turned into one read query (or into the tool that answers it).

    `language` and `query` are None for intents answered by another tool (health, impact, alerts)
    and for general questions; `explanation` then names the tool call. `time_range` is text for
    `parse_time_range`; counts are instant queries whose window already spans it. `alternatives`
    holds (query, explanation) pairs for other readings of an ambiguous question, in the languages
    of `alternative_languages` (same order).

    `answer_tool` names what answers the question better than a raw query: "app_health",
    "incident_impact", "app_events" (event counts, beside their query) or "read_resource" (the
    alerts resource, `tool_arguments["uri"]`); None when the query is the answer. `tool_arguments`
    are that call's exact arguments. `unapplied_filters` are filters the question named that the
    answer tool cannot take (the alerts resource has no time or host filter; app_health and
    app_events no env or instance): apply them to its result, or say they were not applied."""

    question: str
    intent: Intent
    language: Language | None
    query: str | None
    kind: Kind
    time_range: str
    time_reference: str | None
    explanation: str
    confidence: float
    template: str | None
    alternatives: tuple[tuple[str, str], ...]
    entities: Entities
    alternative_languages: tuple[Language, ...] = ()
    answer_tool: str | None = None
    tool_arguments: Mapping[str, str] = field(default_factory=dict)
    unapplied_filters: Mapping[str, str] = field(default_factory=dict)


class TranslationError(QueryInputError):
    """The question cannot be grounded (unknown app, metric, host...); `suggestions` lists the
    closest real names first, and `reason` is the message without that list."""

    def __init__(
        self, message: str, suggestions: list[str] | None = None, *, reason: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.suggestions = list(suggestions or [])
        self.reason = reason or message

    @classmethod
    def listing(cls, reason: str, what: str, names: list[str]) -> "TranslationError":
        """`reason; what: a, b, c` with the names as suggestions ("no host 'node-9'", "known hosts
        (closest first)", [...])."""
        return cls(f"{reason}; {what}: {', '.join(names) or 'none'}", names, reason=reason)
