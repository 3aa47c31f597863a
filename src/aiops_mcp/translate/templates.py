"""The query templates, in the house style: selectors from `selector`/`stream_selector` (values
escaped), rate window 5m, quoted text through `escape_logql_string`. No user text reaches a query
any other way.

PromQL: request_rate, error_rate, latency_quantile (templates latency_p50/p75/p90/p95/p99),
latency_avg, availability, cpu, memory_app, memory_host, restarts; `by` groups the first five and
memory_app by env (template compare_env) or instance (by_instance). LogQL lines: app_logs,
level_logs (error_logs, warning_logs), text_logs; counts: log_counts, level_count (error_count,
warning_count).
"""

import re
from collections.abc import Mapping

from aiops_mcp.query.errors import QueryInputError
from aiops_mcp.query.logql import escape_logql_string, stream_selector
from aiops_mcp.query.promql import escape_label_value, selector

RATE_WINDOW = "5m"
LEVELS = {"error": "error|critical", "warn": "warn|warning"}
_HOST_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

Labels = Mapping[str, str]


def request_rate(labels: Labels, by: tuple[str, ...] = ()) -> str:
    return f"{_sum(by)}(rate({selector('http_requests_total', labels)}[{RATE_WINDOW}]))"


def error_rate(labels: Labels, by: tuple[str, ...] = ()) -> str:
    errors = _with(selector("http_requests_total", labels), 'status=~"5.."')
    return f"{_sum(by)}(rate({errors}[{RATE_WINDOW}])) / {request_rate(labels, by)}"


def latency_quantile(labels: Labels, quantile: float, by: tuple[str, ...] = ()) -> str:
    buckets = selector("http_request_duration_seconds_bucket", labels)
    return f"histogram_quantile({quantile}, {_sum(('le', *by))}(rate({buckets}[{RATE_WINDOW}])))"


def latency_avg(labels: Labels, by: tuple[str, ...] = ()) -> str:
    total = selector("http_request_duration_seconds_sum", labels)
    count = selector("http_request_duration_seconds_count", labels)
    return f"{_sum(by)}(rate({total}[{RATE_WINDOW}])) / {_sum(by)}(rate({count}[{RATE_WINDOW}]))"


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
