"""An application's metric questions to a template's query, its explanation and alternatives
(host questions are `hostplans`', log questions `logplans`')."""

import re
from dataclasses import replace

from aiops_mcp.translate import templates as t
from aiops_mcp.translate.catalog import SUGGESTIONS_SHOWN
from aiops_mcp.translate.hostplans import host_memory_asked, host_memory_choice, plan_host
from aiops_mcp.translate.intent import (
    Topic,
    by_status,
    counts,
    errors_per_second,
    grouping,
    slower_than,
    status_class,
    wants_percent,
)
from aiops_mcp.translate.model import TranslationError
from aiops_mcp.translate.scope import HOST_LABELS, Choice, Plan, Scope

_PER_POD = re.compile(r"\b(?:per|by|each|every|all)\s+pods?\b")
QUANTILES = {"p50": 0.5, "p75": 0.75, "p90": 0.9, "p95": 0.95, "p99": 0.99}


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
    if topic in ("cpu", "disk", "network") or (topic == "memory" and host_memory_asked(scope)):
        return plan_host(scope, topic)
    if topic == "memory":
        return _memory(scope)
    if scope.app is None and (everything := _on_host(scope)) is not None:
        return _everything_on(scope, topic, everything)
    app = scope.need_app()
    group = grouping(scope.ex.rest, scope.ex.envs)
    if group is None and topic == "request_rate" and by_status(scope.ex.rest):
        group = "status"
    by: tuple[str, ...] = () if group is None else (group,)
    labels = scope.metric_labels(app, drop_env=group == "env", instance=group != "instance")
    choices = _metric_choices(scope, topic, labels, by, scope.names(app))
    if group is not None:
        choices = [_grouped(c, group, scope) for c in choices]
    ambiguous = topic == "latency" and scope.ex.entities.aggregation not in (*QUANTILES, "avg")
    subject = scope.subject(app) if group is None else app.name
    choices = [replace(c, explanation=c.explanation.format(s=subject, w=_over(scope))) for c in choices]
    return Plan(choices[0], "promql", scope.kind, tuple(choices[1:]), ambiguous=ambiguous)


def _on_host(scope: Scope) -> dict[str, str] | None:
    """With no app named but a host Prometheus labels series by, the series of everything on it."""
    host = scope.ex.entities.host
    if host is None or scope.ex.unknown_app:
        return None
    label = next((n for n in HOST_LABELS if host in scope.catalog.label_values.get(n, ())), None)
    return {label: host} if label else None


def _everything_on(scope: Scope, topic: Topic, labels: dict[str, str]) -> Plan:
    choices = _metric_choices(scope, topic, labels, (), t.Names())
    subject = f"everything on {scope.ex.entities.host}"
    choices = [replace(c, explanation=c.explanation.format(s=subject, w=_over(scope))) for c in choices]
    return Plan(choices[0], "promql", scope.kind, tuple(choices[1:]))


def _over(scope: Scope) -> str:
    """How the explanation says the window: "over 24h" for one value over it, "5m rate" otherwise."""
    return f"over {scope.window()}" if scope.over_window else "5m rate"


def _metric_choices(
    scope: Scope, topic: Topic, labels: dict[str, str], by: tuple[str, ...], names: t.Names
) -> list[Choice]:
    rest, window = scope.ex.rest, scope.rate_window()
    if topic in ("error_rate", "status_rate") and counts(rest) and scope.over_window:
        status = _status(scope)
        text = f"Requests of {{s}} answered with HTTP {_shown(status)} over {scope.window()} (instant)."
        return [Choice("request_count", t.request_count(labels, scope.window(), status, names), text)]
    if topic in ("error_rate", "status_rate") and errors_per_second(rest):
        status = _status(scope)
        text = f"Requests per second of {{s}} answered with HTTP {_shown(status)} ({{w}})."
        return [
            scope.peak(
                Choice("status_per_second", t.status_per_second(labels, status, by, names, window), text)
            )
        ]
    if topic == "request_rate" and counts(rest) and scope.over_window:
        text = f"Requests served by {{s}} over {scope.window()}, as an instant query."
        return [Choice("request_count", t.request_count(labels, scope.window(), None, names), text)]
    if topic == "request_rate":
        text = "Requests per second of {s} ({w})."
        return [scope.peak(Choice("request_rate", t.request_rate(labels, by, names, window), text))]
    if topic in ("error_rate", "status_rate"):
        status = _status(scope)
        template = "error_rate" if status == "5.." else "status_rate"
        query = t.status_rate(labels, status, by, names, window)
        unit = "%" if wants_percent(rest) else "0 to 1"
        text = f"Share of the requests of {{s}} answered with HTTP {_shown(status)} ({unit}, {{w}})."
        return [scope.peak(Choice(template, t.percent(query) if unit == "%" else query, text))]
    if topic == "slow_share":
        le = _bucket_bound(scope)
        text = f"Share of the requests of {{s}} slower than {le}s, from the duration histogram ({{w}})."
        return [Choice("slow_share", t.slow_share(labels, le, names, window), text)]
    if topic in ("availability", "up_state") and counts(rest):
        text = "Scrape targets of {s} that are up (a count)."
        return [Choice("instances_up", f"sum({t.selector('up', labels)})", text)]
    if topic == "up_state":
        text = "Whether each scrape target of {s} is up (1) or down (0)."
        if scope.over_window:
            text = f"Whether each scrape target of {{s}} was down over {scope.window()} (its lowest up)."
        return [Choice("up_state", t.up_state(labels, scope.gauge_window()), text)]
    if topic == "availability":
        if counts(rest):
            text = "Scrape targets of {s} that are up (a count)."
            return [Choice("instances_up", f"sum({t.selector('up', labels)})", text)]
        text = "Share of the scrape targets of {s} that are up (1 means all up)."
        if scope.over_window:
            text = (
                f"Share of {scope.window()} the scrape targets of {{s}} were up, on average (1 means always)."
            )
        return [Choice("availability", t.availability(labels, by, scope.gauge_window()), text)]
    return _latency_choices(scope, labels, by, names)


def _shown(status: str) -> str:
    return status.replace(".", "x")


def _bucket_bound(scope: Scope) -> str:
    """The histogram bucket bound (`le` as Prometheus writes it) of the latency threshold asked."""
    wanted = slower_than(scope.ex.rest) or 0.0
    known = sorted(v for v in scope.catalog.label_values.get("le", ()) if v != "+Inf")
    for value in known:
        try:
            if float(value) == wanted:
                return value
        except ValueError:
            continue
    if known:
        reason = f"the duration histogram has no bucket at {wanted:g}s"
        raise TranslationError.listing(reason, "its bounds (seconds)", known[:SUGGESTIONS_SHOWN])
    return f"{wanted:g}"


def _status(scope: Scope) -> str:
    """The status regex asked ("4xx" -> "4..", default 5xx), refused when no request in
    Prometheus has one."""
    wanted = status_class(scope.ex.rest) or "5.."
    known = sorted(scope.catalog.label_values.get("status", ()))
    if known and not any(re.fullmatch(wanted, v) for v in known):
        reason = f"no series in Prometheus has an HTTP status {_shown(wanted)}"
        raise TranslationError.listing(reason, "status values there", known[:SUGGESTIONS_SHOWN])
    return wanted


def _latency_choices(
    scope: Scope, labels: dict[str, str], by: tuple[str, ...], names: t.Names
) -> list[Choice]:
    """The asked latency first; without a percentile p95, then avg and p99 as alternatives; for
    "max" p99 (the histogram cannot give a true maximum), then p95 and avg."""
    aggregation, window = scope.ex.entities.aggregation, scope.rate_window()

    def quantile(name: str) -> Choice:
        text = f"{name} request latency of {{s}} in seconds, from the duration histogram ({{w}})."
        return Choice(f"latency_{name}", t.latency_quantile(labels, QUANTILES[name], by, names, window), text)

    avg = Choice(
        "latency_avg",
        t.latency_avg(labels, by, names, window),
        "Average request latency of {s} in seconds ({w}).",
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
    if group == "status":
        return Choice("by_status", choice.query, f"{name} of {{s}} per HTTP status ({{w}}).")
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


def _memory(scope: Scope) -> Plan:
    """The app's resident memory; the host's used share as the alternative reading."""
    ex = scope.ex
    explicit_app = any(w in ex.rest for w in ("rss", "resident", "process"))
    app = scope.need_app()
    labels = scope.metric_labels(app, instance=grouping(ex.rest, ex.envs) != "instance")
    by: tuple[str, ...] = ("instance",) if grouping(ex.rest, ex.envs) == "instance" else ()
    op = {"max": "max", "min": "min"}.get(ex.entities.aggregation or "", "avg")
    window = scope.gauge_window()
    how = f", its {op} over {window}" if window else ""
    text = f"Resident memory of {scope.subject(app)} in bytes, summed over its processes{how}."
    one = ex.entities.instance is not None  # one process: its series, with its labels
    query = t.memory_app(labels, by, window, op, total=not one)
    choice = Choice("by_instance" if by else "memory_app", query, text)
    if explicit_app or app.host is None or by:
        return Plan(choice, "promql", scope.kind)
    host = host_memory_choice(scope, app.host)
    return Plan(choice, "promql", scope.kind, (host,), ambiguous=True)


def _restarts(scope: Scope) -> Plan:
    window = scope.window()
    if scope.app is None and _PER_POD.search(scope.ex.rest):
        text = f"Container restarts of every pod over {window}, per pod, as an instant query."
        return Plan(Choice("restarts", t.restarts_per_pod(window), text), "promql", "instant")
    app = scope.need_app()
    labels = scope.metric_labels(app, instance=False)
    if scope.ex.entities.instance:
        labels["pod"] = scope.ex.entities.instance.split(":")[0]
    window = scope.window()
    text = (
        f"Container restarts of {scope.subject(app)} over {window}, as an instant query at the window's end."
    )
    return Plan(Choice("restarts", t.restarts(labels, window), text), "promql", "instant")
