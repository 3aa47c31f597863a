"""From intent, topic and entities to a template's query, its explanation and alternatives."""

import re
from dataclasses import dataclass

from aiops_mcp.translate import templates as t
from aiops_mcp.translate.catalog import SUGGESTIONS_SHOWN
from aiops_mcp.translate.intent import Topic, by_level, grouping, status_class, wants_host
from aiops_mcp.translate.model import Kind, Language, TranslationError
from aiops_mcp.translate.scope import Choice, Scope

QUANTILES = {"p50": 0.5, "p75": 0.75, "p90": 0.9, "p95": 0.95, "p99": 0.99}
LEVEL_WORDS = {"error": "error or critical", "warn": "warn or warning"}
_LEVEL_TEMPLATES = {"error": ("error_logs", "error_count"), "warn": ("warning_logs", "warning_count")}


@dataclass(frozen=True)
class Plan:
    """The chosen query, its language and kind, the host it reads (host templates), and the other
    readings of an ambiguous question (`ambiguous`: a default was picked among them)."""

    choice: Choice
    language: Language
    kind: Kind
    alternatives: tuple[Choice, ...] = ()
    host: str | None = None
    ambiguous: bool = False


# --- metrics ----------------------------------------------------------------------------------

_NAMES = {
    "request_rate": "Request rate",
    "error_rate": "5xx error ratio",
    "latency_avg": "Average latency",
    "availability": "Availability",
    "memory_app": "Resident memory",
}


def plan_metrics(scope: Scope, topic: Topic) -> Plan:
    """A PromQL plan for the metric topic."""
    if topic == "restarts":
        return _restarts(scope)
    if topic == "cpu":
        host = _host(scope)
        choice = Choice("cpu", t.cpu(host), f"CPU busy % of host {host} (100 minus idle).")
        return Plan(choice, "promql", scope.range_kind, host=host)
    if topic == "memory":
        return _memory(scope)
    app = scope.need_app()
    group = grouping(scope.ex.rest, scope.ex.envs)
    by: tuple[str, ...] = () if group is None else (group,)
    labels = scope.metric_labels(app, drop_env=group == "env", instance=group != "instance")
    aggregation = scope.ex.entities.aggregation
    choices = _metric_choices(scope, topic, labels, by, aggregation, scope.names(app))
    if group is not None:
        choices = [_grouped(c, group, scope) for c in choices]
    ambiguous = topic == "latency" and aggregation not in (*QUANTILES, "avg")
    subject = scope.subject(app) if group is None else app.name
    choices = [Choice(c.template, c.query, c.explanation.format(s=subject)) for c in choices]
    return Plan(choices[0], "promql", scope.range_kind, tuple(choices[1:]), ambiguous=ambiguous)


def _metric_choices(
    scope: Scope,
    topic: Topic,
    labels: dict[str, str],
    by: tuple[str, ...],
    aggregation: str | None,
    names: t.Names,
) -> list[Choice]:
    if topic == "request_rate":
        text = "Requests per second of {s} (5m rate)."
        return [Choice("request_rate", t.request_rate(labels, by, names), text)]
    if topic == "error_rate":
        text = "Share of the requests of {s} answered with HTTP 5xx (0 to 1, 5m rate)."
        return [Choice("error_rate", t.error_rate(labels, by, names), text)]
    if topic == "status_rate":
        status = _status(scope)
        text = f"Share of the requests of {{s}} answered with HTTP status {status} (0 to 1, 5m rate)."
        return [Choice("status_rate", t.status_rate(labels, status, by, names), text)]
    if topic == "availability":
        text = "Share of the scrape targets of {s} that are up (1 means all up)."
        return [Choice("availability", t.availability(labels, by), text)]
    return _latency_choices(labels, by, aggregation, names)


def _status(scope: Scope) -> str:
    """The status regex asked ("4xx" -> "4.."), refused when no request in Prometheus has one."""
    wanted = status_class(scope.ex.rest) or "5.."
    known = sorted(scope.catalog.label_values.get("status", ()))
    if known and not any(re.fullmatch(wanted, v) for v in known):
        shown = wanted.replace(".", "x")
        reason = f"no series in Prometheus has an HTTP status {shown}"
        raise TranslationError.listing(reason, "status values there", known[:SUGGESTIONS_SHOWN])
    return wanted


def _latency_choices(
    labels: dict[str, str], by: tuple[str, ...], aggregation: str | None, names: t.Names
) -> list[Choice]:
    """The asked latency first; without a percentile p95, then avg and p99 as alternatives; for
    "max" p99 (the histogram cannot give a true maximum), then p95 and avg."""

    def quantile(name: str) -> Choice:
        text = f"{name} request latency of {{s}} in seconds, from the duration histogram (5m rate)."
        return Choice(f"latency_{name}", t.latency_quantile(labels, QUANTILES[name], by, names), text)

    avg = Choice(
        "latency_avg",
        t.latency_avg(labels, by, names),
        "Average request latency of {s} in seconds (5m rate).",
    )
    if aggregation in QUANTILES:
        return [quantile(aggregation)]
    if aggregation == "avg":
        return [avg]
    if aggregation == "max":
        return [quantile("p99"), quantile("p95"), avg]
    return [quantile("p95"), avg, quantile("p99")]


def _grouped(choice: Choice, group: str, scope: Scope) -> Choice:
    name = _NAMES.get(choice.template) or choice.template.replace("latency_", "") + " latency"
    if group == "env":
        envs = " and ".join(scope.ex.envs) if len(scope.ex.envs) >= 2 else "every environment"
        text = f"{name} of {{s}} per environment, comparing {envs}."
        return Choice("compare_env", choice.query, text)
    return Choice("by_instance", choice.query, f"{name} of {{s}} per instance.")


def plan_metric(scope: Scope) -> Plan:
    """A metric the question names, scoped to the app, instance or host it names (else every series)."""
    ex = scope.ex
    name = ex.entities.metric or ""
    host = ex.entities.host if ex.app is None else None
    labels = scope.metric_labels(ex.app) if ex.app is not None else {}
    if ex.app is None and ex.entities.instance:
        labels["instance"] = ex.entities.instance
    query = t.metric(name, labels, host)
    where = scope.subject(ex.app) if ex.app else (ex.entities.instance or host or "every series")
    how = "per-second rate (5m) of the counter " if name.endswith(t.COUNTER_SUFFIXES) else ""
    choice = Choice("metric", query, f"The {how}{name} of {where}.")
    return Plan(choice, "promql", scope.range_kind, host=host)


def _host(scope: Scope) -> str:
    host = scope.ex.entities.host
    if host is not None:
        return host
    app = scope.need_app()
    if app.host is None:
        raise TranslationError(
            f"the profile of {app.name!r} names no host: ask about a host by name, e.g. 'cpu of node-1'"
        )
    return app.host


def _memory(scope: Scope) -> Plan:
    ex = scope.ex
    explicit_app = any(w in ex.rest for w in ("rss", "resident", "heap", "process"))
    if not explicit_app and (ex.entities.host is not None or wants_host(ex.rest)):
        host = _host(scope)
        return Plan(_host_memory(host), "promql", scope.range_kind, host=host)
    app = scope.need_app()
    labels = scope.metric_labels(app, instance=grouping(ex.rest, ex.envs) != "instance")
    by: tuple[str, ...] = ("instance",) if grouping(ex.rest, ex.envs) == "instance" else ()
    text = f"Resident memory of {scope.subject(app)} in bytes, summed over its processes."
    choice = Choice("by_instance" if by else "memory_app", t.memory_app(labels, by), text)
    if explicit_app or app.host is None or by:
        return Plan(choice, "promql", scope.range_kind)
    return Plan(choice, "promql", scope.range_kind, (_host_memory(app.host),), ambiguous=True)


def _host_memory(host: str) -> Choice:
    return Choice(
        "memory_host", t.memory_host(host), f"Memory used % of host {host} (1 - available / total)."
    )


def _restarts(scope: Scope) -> Plan:
    app = scope.need_app()
    labels = scope.metric_labels(app, instance=False)
    if scope.ex.entities.instance:
        labels["pod"] = scope.ex.entities.instance.split(":")[0]
    window = scope.window()
    text = (
        f"Container restarts of {scope.subject(app)} over {window}, as an instant query at the window's end."
    )
    return Plan(Choice("restarts", t.restarts(labels, window), text), "promql", "instant")


# --- logs -------------------------------------------------------------------------------------


def plan_logs(scope: Scope) -> Plan:
    """A LogQL log query: lines with the quoted text, at the asked level, or all of the app's."""
    app = scope.need_app()
    labels, entities = scope.log_labels(app), scope.ex.entities
    subject, level = scope.subject(app, "logql"), entities.level
    at = f" at level {LEVEL_WORDS[level]}" if level else ""
    if entities.text is not None:
        text = f"Log lines of {subject} containing {entities.text!r}{at}."
        choice = Choice("text_logs", t.text_logs(labels, entities.text, level), text)
    elif level is not None:
        choice = Choice(
            _LEVEL_TEMPLATES[level][0], t.level_logs(labels, level), f"Log lines of {subject}{at}."
        )
    else:
        choice = Choice("app_logs", t.app_logs(labels), f"Log lines of {subject}.")
    alternatives: tuple[Choice, ...] = ()
    if not scope.explicit and level == "error" and entities.text is None and app.metric_labels:
        # "errors of abc": its error lines, or its error rate.
        ratio = t.error_rate(scope.metric_labels(app), names=scope.names(app))
        text = f"Or the share of the requests of {subject} answered with HTTP 5xx (PromQL, 5m rate)."
        alternatives = (Choice("error_rate", ratio, text, "promql"),)
    return Plan(choice, "logql", "range", alternatives)  # the guessed intent already costs confidence


def plan_counts(scope: Scope) -> Plan:
    """A LogQL count over the window: per level, or of one level."""
    app = scope.need_app()
    labels, entities, window = scope.log_labels(app), scope.ex.entities, scope.window()
    containing = f" containing {entities.text!r}" if entities.text is not None else ""
    end = ", as an instant query at the window's end."
    subject = scope.subject(app, "logql")
    if entities.level is None or by_level(scope.ex.rest):
        text = f"Log lines of {subject}{containing} per level over {window}{end}"
        return Plan(
            Choice("log_counts", t.log_counts(labels, window, entities.text), text), "logql", "instant"
        )
    level = entities.level
    text = f"Log lines of {subject} at level {LEVEL_WORDS[level]}{containing} over {window}{end}"
    query = t.level_count(labels, window, level, entities.text)
    return Plan(Choice(_LEVEL_TEMPLATES[level][1], query, text), "logql", "instant")
