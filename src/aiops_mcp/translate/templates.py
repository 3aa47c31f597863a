"""The query templates, in the house style: selectors from `selector`/`stream_selector` (values
escaped), rate window 5m, quoted text through `escape_logql_string`. No user text reaches a query
any other way (a metric name only after matching the catalog's names).

PromQL: request_rate, error_rate, status_rate (a status class such as 4xx), latency_quantile
(templates latency_p50/p75/p90/p95/p99), latency_avg, availability, cpu, memory_app, memory_host,
restarts, metric (a metric named in the question); `by` groups the request and latency ones and
memory_app by env (template compare_env) or instance (by_instance). The request counter and the
latency histogram are the profile's default metrics when it names them (`Names`). LogQL lines:
app_logs, level_logs (error_logs, warning_logs), text_logs; counts: log_counts, level_count
(error_count, warning_count).
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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


def request_rate(labels: Labels, by: tuple[str, ...] = (), names: Names = Names()) -> str:
    return f"{_sum(by)}(rate({selector(names.requests, labels)}[{RATE_WINDOW}]))"


def error_rate(labels: Labels, by: tuple[str, ...] = (), names: Names = Names()) -> str:
    return status_rate(labels, "5..", by, names)


def status_rate(labels: Labels, status: str, by: tuple[str, ...] = (), names: Names = Names()) -> str:
    """The share of requests whose status matches the regex `status` ("5..", "4..", "404")."""
    matched = _with(selector(names.requests, labels), f'status=~"{escape_label_value(status)}"')
    return f"{_sum(by)}(rate({matched}[{RATE_WINDOW}])) / {request_rate(labels, by, names)}"


def latency_quantile(
    labels: Labels, quantile: float, by: tuple[str, ...] = (), names: Names = Names()
) -> str:
    buckets = selector(names.buckets, labels)
    return f"histogram_quantile({quantile}, {_sum(('le', *by))}(rate({buckets}[{RATE_WINDOW}])))"


def latency_avg(labels: Labels, by: tuple[str, ...] = (), names: Names = Names()) -> str:
    total = selector(f"{names.histogram}_sum", labels)
    count = selector(f"{names.histogram}_count", labels)
    return f"{_sum(by)}(rate({total}[{RATE_WINDOW}])) / {_sum(by)}(rate({count}[{RATE_WINDOW}]))"


def metric(name: str, labels: Labels, host: str | None = None) -> str:
    """A metric the question names, scoped by `labels` and a host: its per-second rate for a
    counter (``*_total``, ``*_count``, ``*_sum``), else the series themselves."""
    text = selector(name, labels)
    if host is not None:
        text = _with(text, host_matcher(host))
    return f"rate({text}[{RATE_WINDOW}])" if name.endswith(COUNTER_SUFFIXES) else text


def availability(labels: Labels, by: tuple[str, ...] = ()) -> str:
    return f"{_agg('avg', by)}({selector('up', labels)})"


def memory_app(labels: Labels, by: tuple[str, ...] = ()) -> str:
    return f"{_sum(by)}({selector('process_resident_memory_bytes', labels)})"


def cpu(host: str) -> str:
    idle = _with(f"node_cpu_seconds_total{{{host_matcher(host)}}}", 'mode="idle"')
    return f"100 * (1 - avg(rate({idle}[{RATE_WINDOW}])))"


def memory_host(host: str) -> str:
    matcher = host_matcher(host)
    available = f"sum(node_memory_MemAvailable_bytes{{{matcher}}})"
    return f"100 * (1 - {available} / sum(node_memory_MemTotal_bytes{{{matcher}}}))"


def restarts(labels: Labels, window: str) -> str:
    """Restarts over `window`; the job label is dropped (kube-state-metrics exports them)."""
    kept = {k: v for k, v in labels.items() if k != "job"}
    return f"sum(increase({selector('kube_pod_container_status_restarts_total', kept)}[{window}]))"


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


def _with(selector_text: str, matcher: str) -> str:
    """The selector with one more matcher (written by the template, not from user text)."""
    head = selector_text[:-1]
    return f"{head}{matcher}}}" if head.endswith("{") else f"{head},{matcher}}}"
