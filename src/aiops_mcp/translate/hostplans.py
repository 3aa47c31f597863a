"""Host questions to PromQL: CPU, memory, disk and network of one host (named, or the app's), or
of every host, one series per instance ("cpu per host")."""

from aiops_mcp.translate import templates as t
from aiops_mcp.translate.intent import (
    Topic,
    direction,
    per_host,
    total_bytes,
    wants_free,
    wants_host,
    wants_percent,
)
from aiops_mcp.translate.model import TranslationError
from aiops_mcp.translate.scope import Choice, Plan, Scope

_BYTES = {
    "disk": ({"read": "node_disk_read_bytes_total", "written": "node_disk_written_bytes_total"}, "disk"),
    "network": (
        {"receive": "node_network_receive_bytes_total", "transmit": "node_network_transmit_bytes_total"},
        "network",
    ),
}


def plan_host(scope: Scope, topic: Topic) -> Plan:
    """CPU, memory, disk or network of the host asked (or every host)."""
    every = per_host(scope.ex.rest) and scope.ex.entities.host is None
    host = None if every else _host(scope)
    where = f"host {host}" if host else "every host (per instance)"
    if topic == "memory":
        choice = host_memory_choice(scope, host)
    elif topic == "cpu":
        query = t.cpu(host, ("instance",) if every else (), scope.rate_window())
        unit = "%" if wants_percent(scope.ex.rest) else "0 to 1"
        text = f"CPU busy share of {where} (1 minus idle; {unit}, {_over(scope)})."
        choice = scope.peak(Choice("cpu", t.percent(query) if unit == "%" else query, text))
    else:
        choice = _bytes(scope, topic, host, where, every)
    return Plan(choice, "promql", scope.kind, host=host)


def host_memory_asked(scope: Scope) -> bool:
    """Whether a memory question is about the machine ("free mem on node-2", "memory per host")."""
    ex = scope.ex
    if any(w in ex.rest for w in ("rss", "resident", "process")):
        return False
    return ex.entities.host is not None or wants_host(ex.rest) or per_host(ex.rest)


def host_memory_choice(scope: Scope, host: str | None) -> Choice:
    """The used share of the host's memory, or what is free ("free", "available": bytes, or a share
    when a percentage is asked)."""
    rest, window = scope.ex.rest, scope.gauge_window()
    op = {"max": "max", "min": "min"}.get(scope.ex.entities.aggregation or "", "avg")
    where = f"host {host}" if host else "every host"
    how = f", its {op} over {window}" if window else ""
    percent = wants_percent(rest)
    if wants_free(rest) and not percent:
        query = t.memory_host(host, window, "free_bytes", op)
        return Choice("memory_free", query, f"Available memory of {where} in bytes{how}.")
    measure: t.MemoryMeasure = "free_share" if wants_free(rest) else "used"
    query = t.memory_host(host, window, measure, op)
    what = "Available" if measure == "free_share" else "Used"
    unit = "%" if percent else "0 to 1"
    text = f"{what} memory share of {where} ({unit}; available / total){how}."
    return Choice("memory_host", t.percent(query) if percent else query, text)


def _bytes(scope: Scope, topic: Topic, host: str | None, where: str, every: bool) -> Choice:
    names, noun = _BYTES[topic]
    way = direction(scope.ex.rest, tuple(names))
    metrics = (names[way],) if way else tuple(names.values())
    by = ("instance",) if every else ()
    what = f"{noun} {way}" if way else f"{noun} {' and '.join(names)}"
    if total_bytes(scope.ex.rest):
        window = scope.window()
        query = t.host_bytes(host, metrics, by, window, total=True)
        return Choice(
            f"{topic}_bytes", query, f"Bytes of {what} of {where} over {window}, as an instant query."
        )
    query = t.host_bytes(host, metrics, by, scope.rate_window())
    return scope.peak(
        Choice(f"{topic}_rate", query, f"Bytes per second of {what} of {where} ({_over(scope)}).")
    )


def _over(scope: Scope) -> str:
    return f"over {scope.window()}" if scope.over_window else "5m rate"


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
