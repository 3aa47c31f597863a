"""The server's own metrics, exposed at /metrics in the Prometheus text format.

Each server gets its own registry, so several servers in one process (tests) never share counts.
The names are the product plan's; per-tool counters come on top.
"""

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Telemetry:
    """Counters and histograms for datasource queries, translations, context building and tools."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.queries = Counter(
            "aiops_grafana_queries_total",
            "Datasource requests by datasource type and outcome (ok, error, cache_hit, stale).",
            ["datasource_type", "status"],
            registry=self.registry,
        )
        self.query_duration = Histogram(
            "aiops_grafana_query_duration_seconds",
            "Datasource request duration, cache hits included.",
            ["datasource_type"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.translations = Counter(
            "aiops_query_translations_total",
            "Natural-language query translations by target language and outcome.",
            ["target_language", "status"],
            registry=self.registry,
        )
        self.context_build = Histogram(
            "aiops_context_build_duration_seconds",
            "Time to assemble an investigation context.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.tool_calls = Counter(
            "aiops_tool_calls_total",
            "MCP tool calls by tool and outcome.",
            ["tool", "status"],
            registry=self.registry,
        )
        self.tool_duration = Histogram(
            "aiops_tool_call_duration_seconds",
            "MCP tool call duration.",
            ["tool"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def observe_query(self, datasource_type: str, status: str, seconds: float) -> None:
        """The hook the datasource clients call once per logical request."""
        self.queries.labels(datasource_type, status).inc()
        self.query_duration.labels(datasource_type).observe(seconds)

    def observe_tool(self, tool: str, status: str, seconds: float) -> None:
        self.tool_calls.labels(tool, status).inc()
        self.tool_duration.labels(tool).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
