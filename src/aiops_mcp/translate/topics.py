"""Metric names written in a question, and topics no template covers ("jvm heap", "disk usage").

A snake_case name ("node_disk_io_time_seconds_total") is taken as a metric: queried as written
when Prometheus has it, otherwise a clarifying error with the closest real names. A topic word the
templates do not answer (a fixed list, and the words of the live metric names) is an error too,
listing the metric names that contain it first: never another metric's answer.
"""

import re
from typing import NoReturn

from aiops_mcp.translate.catalog import SUGGESTIONS_SHOWN, closest_first
from aiops_mcp.translate.model import Catalog, TranslationError
from aiops_mcp.translate.text import VOCAB

METRIC_RE = re.compile(r"(?<![\w:.-])[a-zA-Z_:][a-zA-Z0-9_:]*_[a-zA-Z0-9_:]+(?![\w.-])")
_NOT_METRICS = re.compile(
    r".*_over_time|histogram_\w+|label_(?:replace|join)|count_values|predict_linear|holt_winters|"
    r"day_of_\w+|days_in_month|detected_level|line_format|label_format|unwrap_\w+|bytes_(?:rate|over_time)"
)
_UNCOVERED = re.compile(
    r"\b(?:disk\s+(?:usage|space|full|utili[sz]ation|latency)|filesystems?|storage|volumes?|iops|"
    r"packets?|jvm|heap|gc|garbage\s+collection|threads?|goroutines?|connections?|sockets?|queues?|cache|"
    r"db|database|sql|swap|inodes?|temperature|kafka|lag|replication|certificates?|tls|ssl|dns|"
    r"file\s+descriptors?|fds?|load\s+average|saturation)\b"
)
_MEASURING = re.compile(
    r"\b(?:usage|utili[sz]ation|metrics?|graph|plot|chart|trend|rate|levels?|how\s+much|show)\b"
)
# Words of metric names that the templates already read: never an unknown topic.
_TEMPLATE_WORDS = frozenset((
    "http", "requests", "request", "total", "duration", "seconds", "bucket", "sum", "count", "process",
    "resident", "memory", "bytes", "node", "cpu", "kube", "pod", "container", "status", "restarts", "up",
    "mode", "idle", "memavailable", "memtotal", "disk", "read", "written", "network", "receive",
    "transmit",
))  # fmt: skip


class UnknownMetricError(TranslationError):
    """The question asks for a metric the templates and Prometheus do not have; a model may still
    find one among the live names."""


def metric_in_question(masked: str) -> re.Match[str] | None:
    """The first snake_case metric-looking name of the (quote-masked, original-case) question."""
    return next((m for m in METRIC_RE.finditer(masked) if not _NOT_METRICS.fullmatch(m[0])), None)


def check_metric(name: str, catalog: Catalog) -> None:
    """Raise UnknownMetricError with the closest names when Prometheus lacks `name`."""
    if catalog.metric_names is None or name in catalog.metric_names:
        return
    close = metrics_like(name, catalog)
    raise UnknownMetricError.listing(f"no metric {name!r} in Prometheus", "closest", close)


def unknown_topic(rest: str, catalog: Catalog) -> str | None:
    """A topic word no template answers: from the fixed list, or (with a measuring word such as
    "usage" or "rate") a word of the live metric names that the templates do not read."""
    if match := _UNCOVERED.search(rest):
        return " ".join(match[0].split())
    if catalog.metric_names is None or not _MEASURING.search(rest):
        return None
    words = {w for name in catalog.metric_names for w in name.lower().split("_") if len(w) >= 3}
    words -= _TEMPLATE_WORDS | VOCAB
    return next((w for w in re.findall(r"[a-z][a-z0-9]+", rest) if w in words), None)


def raise_unknown_topic(topic: str, catalog: Catalog) -> NoReturn:
    close = metrics_like(topic, catalog)
    if catalog.metric_names is None:
        raise UnknownMetricError(
            f"no template answers {topic!r} and the metric names are unknown (Prometheus did not "
            "answer): ask about request rate, error rate, latency, availability, CPU, memory or restarts"
        )
    reason = f"no template answers {topic!r} (name a metric to query it)"
    raise UnknownMetricError.listing(reason, "metric names closest to it", close)


def metrics_like(wanted: str, catalog: Catalog) -> list[str]:
    """Live metric names sharing most of `wanted`'s words first, then the closest by spelling."""
    names = closest_first(wanted, sorted(catalog.metric_names or ()))
    words = {w for w in re.split(r"[\s_]+", wanted.lower()) if len(w) >= 2}
    shared = {n: len(words & set(n.lower().split("_"))) for n in names}
    return sorted(names, key=lambda n: -shared[n])[:SUGGESTIONS_SHOWN]
