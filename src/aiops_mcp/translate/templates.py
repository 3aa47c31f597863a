"""The query templates, in the house style: selectors from `selector`/`stream_selector` (values
escaped), rate window 5m, quoted text through `escape_logql_string`. No user text reaches a query
any other way (a metric name only after matching the catalog's names).

PromQL: request_rate, error_rate, status_rate (a status class such as 4xx), latency_quantile
(templates latency_p50/p75/p90/p95/p99), latency_avg, availability, cpu, memory_app, memory_host,
restarts, metric (a metric named in the question); `by` groups the request and latency ones and
memory_app by env (template compare_env) or instance (by_instance). The request counter and the
latency histogram are the profile's default metrics when it names them (`Names`). LogQL lines:
app_logs, level_logs (error_logs, warning_logs), text_logs; their rate: log_rate; counts: log_total,
log_counts (per level), level_count (error_count, warning_count).
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from aiops_mcp.query.errors import QueryInputError
from aiops_mcp.query.logql import escape_logql_string, stream_selector
from aiops_mcp.query.promql import escape_label_value, selector

RATE_WINDOW = "5m"
LEVELS = {"error": "error|critical", "warn": "warn|warning"}
_HOST_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_METRIC_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")

COUNTER_SUFFIXES = ("_total", "_count", "_sum")

Labels = Mapping[str, str]


@dataclass(frozen=True)
class Names:
    """The request counter and latency histogram an app's queries read."""

    requests: str = "http_requests_total"
    buckets: str = "http_request_duration_seconds_bucket"

    @classmethod
    def of(cls, default_metrics: Sequence[str]) -> "Names":
        """The profile's default metrics ending in ``requests_total`` and ``_bucket``, else the
        usual names."""

        def pick(suffix: str, fallback: str) -> str:
            named = (m for m in default_metrics if m.endswith(suffix) and _METRIC_RE.fullmatch(m))
            return next(named, fallback)

        return cls(pick("requests_total", cls.requests), pick("_bucket", cls.buckets))

    @property
    def histogram(self) -> str:
        return self.buckets.removesuffix("_bucket")


def request_rate(
    labels: Labels, by: tuple[str, ...] = (), names: Names = Names(), window: str = RATE_WINDOW
) -> str:
    return f"{_sum(by)}(rate({selector(names.requests, labels)}[{window}]))"


def request_count(labels: Labels, window: str, status: str | None = None, names: Names = Names()) -> str:
    """Requests served over `window` (only those whose status matches `status`)."""
    counted = selector(names.requests, labels)
    if status is not None:
        counted = _with(counted, f'status=~"{escape_label_value(status)}"')
    return f"sum(increase({counted}[{window}]))"


def error_rate(
    labels: Labels, by: tuple[str, ...] = (), names: Names = Names(), window: str = RATE_WINDOW
) -> str:
    return status_rate(labels, "5..", by, names, window)


def status_rate(
    labels: Labels, status: str, by: tuple[str, ...] = (), names: Names = Names(), window: str = RATE_WINDOW
) -> str:
    """The share of requests whose status matches the regex `status` ("5..", "4..", "404")."""
    return (
        f"{status_per_second(labels, status, by, names, window)} / {request_rate(labels, by, names, window)}"
    )


def status_per_second(
    labels: Labels, status: str, by: tuple[str, ...] = (), names: Names = Names(), window: str = RATE_WINDOW
) -> str:
    """Requests per second whose status matches the regex `status`."""
    matched = _with(selector(names.requests, labels), f'status=~"{escape_label_value(status)}"')
    return f"{_sum(by)}(rate({matched}[{window}]))"


def latency_quantile(
    labels: Labels,
    quantile: float,
    by: tuple[str, ...] = (),
    names: Names = Names(),
    window: str = RATE_WINDOW,
) -> str:
    buckets = selector(names.buckets, labels)
    return f"histogram_quantile({quantile}, {_sum(('le', *by))}(rate({buckets}[{window}])))"


def slow_share(labels: Labels, le: str, names: Names = Names(), window: str = RATE_WINDOW) -> str:
    """The share of requests slower than the histogram bucket bound `le` (as written in its label)."""
    fast = _with(selector(names.buckets, labels), f'le="{escape_label_value(le)}"')
    count = selector(f"{names.histogram}_count", labels)
    return f"1 - sum(rate({fast}[{window}])) / sum(rate({count}[{window}]))"


def up_state(labels: Labels, window: str | None = None) -> str:
    """Each target's up (1) or down (0); over a window, its lowest (0: it was down at some point)."""
    return _over(selector("up", labels), window, "min")


def latency_avg(
    labels: Labels, by: tuple[str, ...] = (), names: Names = Names(), window: str = RATE_WINDOW
) -> str:
    total = selector(f"{names.histogram}_sum", labels)
    count = selector(f"{names.histogram}_count", labels)
    return f"{_sum(by)}(rate({total}[{window}])) / {_sum(by)}(rate({count}[{window}]))"


def metric(name: str, labels: Labels, host: str | None = None) -> str:
    """A metric the question names, scoped by `labels` and a host: its per-second rate for a
    counter (``*_total``, ``*_count``, ``*_sum``), else the series themselves."""
    text = selector(name, labels)
    if host is not None:
        text = _with(text, host_matcher(host))
    return f"rate({text}[{RATE_WINDOW}])" if name.endswith(COUNTER_SUFFIXES) else text


def availability(labels: Labels, by: tuple[str, ...] = (), window: str | None = None) -> str:
    """The share of targets up; over a window, the share of the window each was up."""
    return f"{_agg('avg', by)}({_over(selector('up', labels), window, 'avg')})"


def memory_app(
    labels: Labels, by: tuple[str, ...] = (), window: str | None = None, op: str = "avg", total: bool = True
) -> str:
    """Resident bytes summed over the processes (`total`; else each one's series); over a window,
    each one's `op` over it."""
    series = _over(selector("process_resident_memory_bytes", labels), window, op)
    return f"{_sum(by)}({series})" if total or by else series


def cpu(host: str | None, by: tuple[str, ...] = (), window: str = RATE_WINDOW) -> str:
    """The busy share of the host's CPUs (0 to 1: 1 minus idle), or of every host `by` instance."""
    scope = f"{host_matcher(host)}," if host is not None else ""
    idle = f'node_cpu_seconds_total{{{scope}mode="idle"}}'
    return f"1 - {_agg('avg', by)}(rate({idle}[{window}]))"


MemoryMeasure = Literal["used", "free_share", "free_bytes"]


def memory_host(
    host: str | None, window: str | None = None, measure: MemoryMeasure = "used", op: str = "avg"
) -> str:
    """The host's memory, per instance (every host's when `host` is None): the used share (0 to 1:
    1 - available / total), the available share, or the available bytes; over a window, the
    `op` of each over it."""
    matcher = "{" + host_matcher(host) + "}" if host is not None else ""
    available = _over(f"node_memory_MemAvailable_bytes{matcher}", window, op)
    if measure == "free_bytes":
        return available
    share = f"{available} / {_over(f'node_memory_MemTotal_bytes{matcher}', window, op)}"
    return share if measure == "free_share" else f"1 - {share}"


def host_bytes(
    host: str | None,
    metrics: tuple[str, ...],
    by: tuple[str, ...] = (),
    window: str = RATE_WINDOW,
    total: bool = False,
) -> str:
    """Bytes per second (or in all, `total`) of the host's disk or network counters, summed."""
    function = "increase" if total else "rate"
    parts = []
    for name in metrics:
        text = f"{name}{{{host_matcher(host)}}}" if host is not None else name
        parts.append(f"{_sum(by)}({function}({text}[{window}]))")
    return " + ".join(parts)


def restarts(labels: Labels, window: str) -> str:
    """Restarts over `window`; the job label is dropped (kube-state-metrics exports them)."""
    kept = {k: v for k, v in labels.items() if k != "job"}
    return f"sum(increase({selector('kube_pod_container_status_restarts_total', kept)}[{window}]))"


def restarts_per_pod(window: str) -> str:
    return f"sum by (pod) (increase(kube_pod_container_status_restarts_total[{window}]))"


def percent(query: str) -> str:
    """A 0-to-1 share as a percentage."""
    return f"100 * ({query})"


def over_window(query: str, op: str, window: str) -> str:
    """The `op` (max, min) of an instant expression over `window`, as a subquery at 1m."""
    return f"{op}_over_time(({query})[{window}:1m])"


def host_matcher(host: str) -> str:
    """`instance=~"node-1(:[0-9]+)?"`: the host's series on any port (dots escaped)."""
    if not _HOST_RE.fullmatch(host):
        raise QueryInputError(f"invalid host {host!r}: give a host name or address")
    return f'instance=~"{escape_label_value(host.replace(".", chr(92) + "."))}(:[0-9]+)?"'


# --- LogQL ------------------------------------------------------------------------------------


def app_logs(labels: Labels) -> str:
    return stream_selector(labels)


def level_logs(labels: Labels, level: str) -> str:
    return f"{stream_selector(labels)}{_level(level)}"


def text_logs(labels: Labels, text: str, level: str | None = None) -> str:
    return f"{stream_selector(labels)} |= {escape_logql_string(text)}{_level(level)}"


def log_counts(labels: Labels, window: str, text: str | None = None) -> str:
    return f"sum by (detected_level) (count_over_time({_pipeline(labels, text, None)}[{window}]))"


def log_total(labels: Labels, window: str, text: str | None = None) -> str:
    return f"sum(count_over_time({_pipeline(labels, text, None)}[{window}]))"


def log_rate(labels: Labels, per_minute: bool, text: str | None = None, level: str | None = None) -> str:
    """Lines per minute (a count per 1m), or per second (a 5m rate)."""
    function, window = ("count_over_time", "1m") if per_minute else ("rate", RATE_WINDOW)
    return f"sum({function}({_pipeline(labels, text, level)}[{window}]))"


def level_count(labels: Labels, window: str, level: str, text: str | None = None) -> str:
    return f"sum(count_over_time({_pipeline(labels, text, level)}[{window}]))"


def _pipeline(labels: Labels, text: str | None, level: str | None) -> str:
    """The log query of a count, ending with a space when it has stages (`{...} | ... [1h]`)."""
    stages = (f" |= {escape_logql_string(text)}" if text is not None else "") + _level(level)
    return f"{stream_selector(labels)}{stages} " if stages else stream_selector(labels)


def _level(level: str | None) -> str:
    return f' | detected_level=~"{LEVELS[level]}"' if level else ""


# --- helpers ----------------------------------------------------------------------------------


def _agg(op: str, by: tuple[str, ...]) -> str:
    return f"{op} by ({', '.join(by)}) " if by else op


def _sum(by: tuple[str, ...]) -> str:
    return _agg("sum", by)


def _over(selector_text: str, window: str | None, op: str) -> str:
    return f"{op}_over_time({selector_text}[{window}])" if window else selector_text


def _with(selector_text: str, matcher: str) -> str:
    """The selector with one more matcher (written by the template, not from user text)."""
    head = selector_text[:-1]
    return f"{head}{matcher}}}" if head.endswith("{") else f"{head},{matcher}}}"
